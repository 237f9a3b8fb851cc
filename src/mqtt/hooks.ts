import { TLSSocket } from 'node:tls'
import type { AedesOptions, AedesPublishPacket, AuthenticateError, Client, Subscription } from 'aedes'
import type { AccessControl, Identity } from '../access/access.js'
import type { Ingest } from '../ingest.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import type { UserRegistry } from '../users/registry.js'
import type { AuthThrottle } from '../users/auth-throttle.js'
import { assignClientId } from './client-id.js'
import { Deliveries } from './deliver.js'
import { clientName, describePublish, peerOf } from './describe.js'
import { ANONYMOUS, type SessionOwners } from './session-owners.js'
import { filterProblem } from './subscribe-filter.js'

export interface HookDeps {
  users: UserRegistry
  access: AccessControl
  ingest: Ingest
  stats: Stats
  log: Logger
  allowAnonymous: boolean
  /** On the TLS listener, a valid client certificate's CN is the user (Mosquitto use_identity_as_username). */
  certUsername?: boolean
  /** Password checks per account and address, shared with HTTP. */
  throttle: AuthThrottle
  /** Which user each client id belongs to. */
  owners: SessionOwners
  /** Publishes refused by access: acknowledged, then discarded by orderPublishes. */
  drop: WeakSet<object>
}

interface ConnectInfo { p: number; c: number; k: number; u: string | undefined }

/**
 * aedes' policy hooks, in the order a packet meets them: connection → auth → ACL → decode → store.
 * Deliveries (live and retained) are checked again against the receiver in authorizeForward.
 */
export function createHooks(d: HookDeps): Required<Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>> & {
  identityOf(client: Client): Identity | undefined
  connectInfo(client: Client): ConnectInfo | undefined
} {
  const identities = new WeakMap<Client, Identity>()
  const connects = new WeakMap<Client, ConnectInfo>()
  const deliveries = new Deliveries(d.access)
  const debug = () => d.log.isLevelEnabled('debug')

  const refuse = (client: Client, why: string, done: (e: AuthenticateError | null, ok: boolean | null) => void, returnCode: 2 | 5 = 5) => {
    d.stats.authFailures++
    d.log.info(`Client ${clientName(client)} disconnected, ${returnCode === 2 ? 'identifier rejected' : 'not authorised'} (${why}).`)
    const err = new Error(returnCode === 2 ? 'identifier rejected' : 'not authorised') as AuthenticateError
    err.returnCode = returnCode
    done(err, null)
  }

  return {
    identityOf: (client) => identities.get(client),
    connectInfo: (client) => connects.get(client),

    preConnect(client, packet, done) {
      const p = packet as unknown as { protocolVersion: number; clean: boolean; keepalive: number; username?: string; clientId: string }
      if (p.protocolVersion !== 5 && !assignClientId(client, p, d.log)) return done(null, false)
      connects.set(client, { p: p.protocolVersion, c: p.clean ? 1 : 0, k: p.keepalive, u: p.username })
      if (p.protocolVersion === 5) {
        d.log.warn(`Client ${p.clientId || '<unknown>'} from ${peerOf(client)} refused: MQTT 5 is not supported; set the app's mqttProtocolLevel to 4 (MQTT 3.1.1) or 3.`)
      }
      done(null, true)
    },

    authenticate(client, username, password, done) {
      const addr = loginAddress(client)
      const finish = (who: Identity) => {
        const will = (client as unknown as { _will?: { topic: string } })._will
        if (will && !d.access.canWrite(who, will.topic)) {
          return refuse(client, `will topic '${will.topic}' denied`, done)
        }
        d.owners.claim(client.id, who.user ?? ANONYMOUS, client.clean, client).then((claim) => {
          if (!claim.ok) {
            d.stats.clientIdRefused++
            return refuse(client, `client id '${client.id}' belongs to ${claim.owner === ANONYMOUS ? 'an anonymous client' : 'another user'}; each phone needs its own client id`, done, 2)
          }
          const conn = (client as unknown as { conn: NodeJS.EventEmitter & { destroyed?: boolean } }).conn
          // The check may take a round trip to the cluster, during which the connection may have gone.
          if (conn.destroyed) d.owners.release(client.id, client)
          else conn.once('close', () => d.owners.release(client.id, client))
          identities.set(client, who)
          done(null, true)
        }, (err: Error) => {
          // The cluster cannot say who holds the id: refused for now, the phone retries.
          d.log.error(`Client ${clientName(client)} refused, server unavailable: cannot check who holds client id '${client.id}' (${err.message}).`)
          const e = new Error('server unavailable') as AuthenticateError
          e.returnCode = 3
          done(e, null)
        })
      }
      const cn = d.certUsername ? certificateUser(client) : undefined
      if (cn !== undefined) {
        if (!d.users.has(cn)) return refuse(client, `client certificate for '${cn}', who is not a hub user`, done)
        const info = connects.get(client)
        if (info) info.u = cn
        return finish({ user: cn, admin: d.users.isAdmin(cn), clientId: client.id })
      }
      if (username === undefined || username === '') {
        if (d.allowAnonymous && password === undefined) return finish({ user: null, admin: false, clientId: client.id })
        return refuse(client, 'no username; anonymous access is off', done)
      }
      const pw = password === undefined ? '' : password.toString('utf8')
      const warn = (what: string) => d.log.warn(`Refusing logins unchecked: ${what} (see --auth-rate-account and --auth-rate-address).`)
      d.throttle.attempt(addr, username, pw, () => d.users.verify(username, pw), warn).then((result) => {
        if (result === 'throttled') {
          d.stats.authThrottled++
          return refuse(client, `too many password checks for '${username}' or from ${addr}; the password was not checked`, done)
        }
        if (result === 'wrong') return refuse(client, `wrong username or password for '${username}'`, done)
        finish({ user: username, admin: d.users.isAdmin(username), clientId: client.id })
      }, (err: Error) => {
        d.log.error(`Password check failed for '${username}': ${err.message}`)
        refuse(client, 'password check failed', done)
      })
    },

    authorizePublish(client, packet, done) {
      d.stats.messagesIn++
      if (client && debug()) d.log.debug(`Received PUBLISH from ${client.id} ${describePublish(packet)}`)
      if (client) {
        const who = identities.get(client)
        if (!who || !d.access.canWrite(who, packet.topic)) {
          d.stats.deniedPublish++
          d.log.info(`Denied PUBLISH from ${client.id} ${describePublish(packet)}`)
          d.drop.add(packet)
          return done(null)
        }
      }
      // A will published after a restart has no client any more; its topic was checked at CONNECT.
      d.ingest.handle(packet.topic, toBuffer(packet.payload), client ? client.id : 'will').then(
        (outcome) => {
          if (outcome.kind === 'refused') d.drop.add(packet) // acknowledged, so the phone does not resend it forever
          done(null)
        },
        (err: Error) => done(err), // not stored → not acknowledged: the phone keeps it and retries
      )
    },

    authorizeSubscribe(client, sub: Subscription, done) {
      // A filter with wildcards is granted and each message is checked at delivery (rules change while
      // a subscription lasts). A plain topic the rules deny can never deliver anything: its SUBACK says
      // 0x80 (MQTT-3.9.3: the server may refuse a filter; Mosquitto 2.0 grants it and delivers nothing).
      if (debug()) d.log.debug(`Received SUBSCRIBE from ${client.id}\n\t${sub.topic} (QoS ${sub.qos})`)
      const bad = filterProblem(sub.topic)
      if (bad) {
        // MQTT-1.5.3-1/-2: a malformed UTF-8 string or U+0000 is a protocol violation that closes the connection.
        d.stats.protocolErrors++
        d.log.info(`Client ${clientName(client)} disconnected: SUBSCRIBE with ${bad}.`)
        return done(new Error(`SUBSCRIBE with ${bad}`), null)
      }
      const who = identities.get(client)
      if (!who || (!/[#+]/.test(sub.topic) && !d.access.canRead(who, sub.topic))) {
        d.log.info(`Denied SUBSCRIBE from ${client.id} to '${sub.topic}': ${who ? d.access.decide(who, sub.topic, 'read').reason : 'not signed in'}.`)
        return done(null, null)
      }
      done(null, sub)
    },

    authorizeForward(client, packet: AedesPublishPacket) {
      const who = identities.get(client)
      if (!who) return null
      let out = deliveries.forward(who, packet)
      if (!out) {
        d.stats.deniedDelivery++
        return null
      }
      if (out !== packet && isQueuedReplay(packet)) {
        packet.payload = out.payload
        out = packet
      }
      return out
    },
  }
}

/**
 * The address a login counts against: the peer, or for MQTT over WebSocket the client address that
 * forwarded.ts settled on the upgrade request (a --trust-proxy's X-Forwarded-For, else the peer), so
 * everyone behind a reverse proxy does not share the proxy's budget.
 */
function loginAddress(client: Client): string {
  const fwd = (client as unknown as { req?: { headers?: Record<string, string | string[] | undefined> } }).req?.headers?.['x-forwarded-for']
  const last = (Array.isArray(fwd) ? fwd.at(-1) : fwd)?.split(',').at(-1)?.trim()
  return (last || peerOf(client).replace(/:\d+$/, '')).replace(/^::ffff:/, '')
}

/** The CN of a client certificate the TLS listener verified against the CA, if the client sent one. */
function certificateUser(client: Client): string | undefined {
  const conn = (client as unknown as { conn?: unknown }).conn
  if (!(conn instanceof TLSSocket) || !conn.authorized) return undefined
  const cn = conn.getPeerCertificate().subject?.CN as string | string[] | undefined
  return Array.isArray(cn) ? cn[0] : cn || undefined
}

const toBuffer = (p: Buffer | string | undefined): Buffer => (p === undefined ? Buffer.alloc(0) : typeof p === 'string' ? Buffer.from(p) : p)

/**
 * A message replayed from a persistent session's offline queue on reconnect. aedes 1.x
 * (lib/handlers/connect.js, emptyQueueFilter) asks authorizeForward only yes or no there and then
 * writes the packet it asked about, so a changed copy (a blurred location) would be ignored and the
 * exact one sent. That packet is this client's own copy, freshly read from persistence (a QoSPacket,
 * the only kind that already has its writeCallback when authorizeForward sees it), so the view's
 * change is applied to it in place. Live and retained deliveries pass a shared packet and build the
 * delivery from what authorizeForward returns: they keep getting a copy.
 */
function isQueuedReplay(packet: object): boolean {
  return Object.prototype.hasOwnProperty.call(packet, 'writeCallback')
}
