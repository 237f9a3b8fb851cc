import { TLSSocket } from 'node:tls'
import type { AedesOptions, AedesPublishPacket, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes'
import type { AccessControl, Identity } from '../access/access.js'
import type { Ingest } from '../ingest.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import type { UserRegistry } from '../users/registry.js'
import { AuthThrottle } from './auth-throttle.js'
import { Deliveries } from './deliver.js'
import { clientName, describePublish, peerOf } from './describe.js'

export interface HookDeps {
  users: UserRegistry
  access: AccessControl
  ingest: Ingest
  stats: Stats
  log: Logger
  allowAnonymous: boolean
  /** On the TLS listener, a valid client certificate's CN is the user (Mosquitto use_identity_as_username). */
  certUsername?: boolean
  /** Longest delay (ms) for answering an address with failed logins; 0 = no throttling. */
  authThrottleMax?: number
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
  const throttle = new AuthThrottle(250, d.authThrottleMax ?? 8000)
  const debug = () => d.log.isLevelEnabled('debug')

  const refuse = (client: Client, why: string, done: (e: AuthenticateError | null, ok: boolean | null) => void) => {
    d.stats.authFailures++
    const addr = peerOf(client).replace(/:\d+$/, '')
    throttle.failed(addr)
    const delay = throttle.delayFor(addr)
    d.log.info(`Client ${clientName(client)} disconnected, not authorised (${why}).${delay > 250 ? ` Answered after ${delay} ms: repeated failures from ${addr}.` : ''}`)
    const err = new Error('not authorised') as AuthenticateError
    err.returnCode = 5
    setTimeout(() => done(err, null), delay)
  }

  return {
    identityOf: (client) => identities.get(client),
    connectInfo: (client) => connects.get(client),

    preConnect(client, packet, done) {
      const p = packet as unknown as { protocolVersion: number; clean: boolean; keepalive: number; username?: string; clientId: string }
      connects.set(client, { p: p.protocolVersion, c: p.clean ? 1 : 0, k: p.keepalive, u: p.username })
      if (p.protocolVersion === 5) {
        d.log.warn(`Client ${p.clientId || '<unknown>'} from ${peerOf(client)} refused: MQTT 5 is not supported; set the app's mqttProtocolLevel to 4 (MQTT 3.1.1) or 3.`)
      }
      done(null, true)
    },

    authenticate(client, username, password, done) {
      const addr = peerOf(client).replace(/:\d+$/, '')
      const finish = (who: Identity) => {
        const will = (client as unknown as { _will?: { topic: string } })._will
        if (will && !d.access.canWrite(who, will.topic)) {
          return refuse(client, `will topic '${will.topic}' denied`, done)
        }
        throttle.succeeded(addr)
        identities.set(client, who)
        done(null, true)
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
      d.users.verify(username, pw).then((ok) => {
        if (!ok) return refuse(client, `wrong username or password for '${username}'`, done)
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
        () => done(null),
        (err: Error) => done(err), // not stored → not acknowledged: the phone keeps it and retries
      )
    },

    authorizeSubscribe(client, sub: Subscription, done) {
      // Like Mosquitto 2: a subscription is accepted, and each message is checked at delivery.
      if (debug()) d.log.debug(`Received SUBSCRIBE from ${client.id}\n\t${sub.topic} (QoS ${sub.qos})`)
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
      if (debug()) d.log.debug(`Sending PUBLISH to ${client.id} ${describePublish(out as PublishPacket)}`)
      return out
    },
  }
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
