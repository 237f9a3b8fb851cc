import { TLSSocket } from 'node:tls'
import type { AedesOptions, AuthenticateError, Client } from 'aedes'
import type { AccessControl, Identity } from '../access/access.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import type { AuthThrottle } from '../users/auth-throttle.js'
import type { UserRegistry } from '../users/registry.js'
import { assignClientId } from './client-id.js'
import { clientName, peerOf } from './describe.js'
import { ANONYMOUS, type SessionOwners } from './session-owners.js'

export interface SignInDeps {
  users: UserRegistry
  access: AccessControl
  stats: Stats
  log: Logger
  allowAnonymous: boolean
  /** On the TLS listener, a valid client certificate's CN is the user (Mosquitto use_identity_as_username). */
  certUsername?: boolean
  /** Password checks per account and address, shared with HTTP. */
  throttle: AuthThrottle
  /** Which user each client id belongs to. */
  owners: SessionOwners
}

export interface ConnectInfo { p: number; c: number; k: number; u: string | undefined }

export type SignIn = Required<Pick<AedesOptions, 'preConnect' | 'authenticate'>> & {
  /** Who a connected client is, once authenticate let it in. */
  identityOf(client: Client): Identity | undefined
  /** What its CONNECT said, for the log line Mosquitto writes. */
  connectInfo(client: Client): ConnectInfo | undefined
}

/**
 * Who a client is: its CONNECT (MQTT 3.1/3.1.1 only), its password through the throttle or its client
 * certificate, whether its will topic is one it may write, and whether its client id is its own.
 */
export function createSignIn(d: SignInDeps): SignIn {
  const identities = new WeakMap<Client, Identity>()
  const connects = new WeakMap<Client, ConnectInfo>()
  const releaseOnClose = releaser(d.owners)

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
          releaseOnClose(client)
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
  }
}

/**
 * What gives a client id back when its connection closes: one listener for every connection of a hub
 * (`this` is the connection, aedes' `conn.client` its client). Not a closure made in authenticate: that
 * would share its scope, and so keep aedes' callback, the CONNECT packet and the password alive for as
 * long as the connection lasts (about 1 kB a phone, and a password in memory for no reason).
 */
function releaser(owners: SessionOwners): (client: Client) => void {
  function release(this: { client: Client }) { owners.release(this.client.id, this.client) }
  return (client) => {
    const conn = (client as unknown as { conn: NodeJS.EventEmitter & { destroyed?: boolean } }).conn
    // The check may take a round trip to the cluster, during which the connection may have gone.
    if (conn.destroyed) owners.release(client.id, client)
    else conn.on('close', release)
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

