import type { IncomingMessage } from 'node:http'
import type { Context, MiddlewareHandler } from 'hono'
import type { Identity } from '../access/access.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import { AuthThrottle, type AttemptResult } from '../users/auth-throttle.js'
import type { UserRegistry } from '../users/registry.js'
import { crossSiteReason } from './cross-site.js'
import { cookieValue, sameSecret, SESSION_COOKIE, type Session, type SessionStore } from './session.js'
import { HttpError, answer } from './errors.js'

export type Env = { Variables: { who: Identity; session?: Session } }

type Header = (name: string) => string | undefined

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Who is calling, for every HTTP route that needs a user: HTTP Basic with the MQTT users (scripts, the
 * Recorder's clients) or the map's session cookie. Both give the same Identity, so the access decisions
 * are the same. The Recorder had no authentication; the hub requires it everywhere but /healthz, the
 * map's static files and public tour pages.
 */
export class HttpAuth {
  constructor(
    readonly users: UserRegistry,
    readonly sessions: SessionStore,
    /** Shared by Basic auth, the sign-in form and MQTT: one budget of password checks per account and address. */
    readonly throttle = new AuthThrottle({ perAccount: 30, perAddress: 60 }),
    private readonly stats?: Stats,
    private readonly log?: Logger,
    /** Origins of web apps on other sites allowed to call with credentials (--cors-origin). */
    readonly corsOrigins: ReadonlySet<string> = new Set(),
  ) {}

  /**
   * Checks a password within the throttle's budgets. 'throttled' means it was not checked: the caller
   * answers that the same way whether the password was right or wrong (429 with Retry-After).
   */
  async check(addr: string, user: string, password: string): Promise<AttemptResult> {
    const warn = (what: string) => this.log?.warn(`Refusing logins unchecked: ${what} (see --auth-rate-account and --auth-rate-address).`)
    const r = await this.throttle.attempt(addr, user, password, () => this.users.verify(user, password), warn)
    if (r === 'throttled' && this.stats) this.stats.authThrottled++
    return r
  }

  /** HTTP Basic only, for callers that never have a session: phones in HTTP mode (/pub), metrics scrapers. */
  basic(realm = 'owntracks-hub'): MiddlewareHandler<Env> {
    return async (c, next) => {
      const basic = parseBasic(c.req.header('authorization'))
      if (!basic) return unauthorized(c, realm, true)
      const r = await this.check(peerAddress(c), basic.user, basic.password)
      if (r === 'throttled') return throttled(c, this.throttle.retryAfter(peerAddress(c), basic.user))
      if (r === 'wrong') return unauthorized(c, realm, true)
      c.set('who', { user: basic.user, admin: this.users.isAdmin(basic.user), clientId: `http:${basic.user}` })
      await next()
    }
  }

  identity(user: string): Identity {
    return { user, admin: this.users.isAdmin(user), clientId: `http:${user}` }
  }

  /**
   * Middleware for /api/*. A request carrying a foreign Origin is refused whatever its credentials (a
   * browser that once typed Basic credentials would otherwise send them for any site). With the cookie,
   * state-changing methods also need the session's CSRF token in `X-CSRF-Token`.
   * 401 asks browsers for Basic credentials (WWW-Authenticate) only when the caller is not the map,
   * whose own requests say so with `X-Requested-With` or a (stale) session cookie.
   */
  middleware(realm = 'owntracks-hub'): MiddlewareHandler<Env> {
    return async (c, next) => {
      const header: Header = (n) => c.req.header(n)
      if (!originAllowed(header, this.corsOrigins)) return forbidden(c, 'cross-origin request refused: the Origin header does not match this hub')
      const basic = parseBasic(c.req.header('authorization'))
      if (basic) {
        const addr = peerAddress(c)
        const r = await this.check(addr, basic.user, basic.password)
        if (r === 'throttled') return throttled(c, this.throttle.retryAfter(addr, basic.user))
        if (r === 'wrong') return unauthorized(c, realm, true)
        c.set('who', this.identity(basic.user))
        return next()
      }
      const session = this.sessions.fromCookie(c.req.header('cookie'))
      if (session) {
        if (!SAFE.has(c.req.method) && !sameSecret(c.req.header('x-csrf-token'), session.csrf)) {
          return forbidden(c, 'CSRF token missing or wrong: send the X-CSRF-Token the hub gave at sign-in (reload the map to get it)')
        }
        c.set('who', this.identity(session.user))
        c.set('session', session)
        return next()
      }
      const fromMap = c.req.header('x-requested-with') !== undefined || cookieValue(c.req.header('cookie'), SESSION_COOKIE) !== undefined
      return unauthorized(c, realm, !fromMap)
    }
  }

  /**
   * For WebSocket upgrades (e.g. /ws/last): the same credentials as /api/*. The Origin check matters most
   * here: browsers apply no same-origin policy to WebSocket handshakes, and another site on the same host
   * (another port) is "same-site", so the cookie alone would let it listen in.
   */
  async upgrade(req: IncomingMessage): Promise<Identity | undefined> {
    const header: Header = (n) => { const v = req.headers[n]; return Array.isArray(v) ? v[0] : v }
    if (!originAllowed(header, this.corsOrigins)) return undefined
    const basic = parseBasic(header('authorization'))
    if (basic) {
      const addr = header('x-forwarded-for')?.split(',').at(-1)?.trim().replace(/^::ffff:/, '') ?? req.socket?.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown'
      if ((await this.check(addr, basic.user, basic.password)) !== 'ok') return undefined
      return { user: basic.user, admin: this.users.isAdmin(basic.user), clientId: `ws:${basic.user}` }
    }
    if (header('authorization')) return undefined
    const session = this.sessions.fromCookie(header('cookie'))
    return session && this.identity(session.user)
  }
}

/**
 * The user an `Authorization: Basic …` header proves, or undefined; `via` prefixes the client id. Not
 * throttled: for tests and tools that stand up a part of the hub; the hub's own routes use HttpAuth.
 */
export async function identifyBasic(header: string | undefined, users: UserRegistry, via: string): Promise<Identity | undefined> {
  const basic = parseBasic(header)
  if (!basic || !(await users.verify(basic.user, basic.password))) return undefined
  return { user: basic.user, admin: users.isAdmin(basic.user), clientId: `${via}:${basic.user}` }
}

function parseBasic(h: string | undefined): { user: string; password: string } | undefined {
  if (!h || !/^basic /i.test(h)) return undefined
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return undefined
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) }
}

/**
 * Whether a request may come from where it says it comes from. One rule for every route and upgrade:
 * cross-site.ts (Origin must name this hub, Sec-Fetch-Site must not say another site; scripts send neither).
 */
export function originAllowed(header: Header, corsOrigins?: ReadonlySet<string>): boolean {
  return crossSiteReason(header, corsOrigins) === undefined
}

/**
 * The caller's address, for throttling. X-Forwarded-For has been settled by forwarded.ts before any
 * handler runs: from a --trust-proxy address it is what the proxy saw (its last entry is the proxy's
 * own client), from anyone else the hub's own view of the peer, so a forged header cannot dodge the
 * throttle, and behind a proxy not everyone shares the proxy's budget.
 */
export function peerAddress(c: Context): string {
  const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim()
  if (forwarded) return forwarded.replace(/^::ffff:/, '')
  const env = c.env as { incoming?: IncomingMessage } | undefined
  return env?.incoming?.socket.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown'
}

/** Whether the browser reached us over HTTPS (directly, or through a proxy that says so). */
export function isHttps(c: Context): boolean {
  const env = c.env as { incoming?: IncomingMessage } | undefined
  const socket = env?.incoming?.socket as { encrypted?: boolean } | undefined
  return socket?.encrypted === true || c.req.header('x-forwarded-proto')?.split(',')[0].trim() === 'https'
}

function unauthorized(c: Context, realm: string, challenge: boolean): Response {
  return answer(c, new HttpError(401, 'authentication required: sign in, or use HTTP Basic with a hub user',
    { headers: challenge ? { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` } : {} }))
}

/** A login refused unchecked by the throttle: the same answer whatever the password. */
export function throttled(c: Context, retryAfterSeconds: number, what = 'logins'): Response {
  return answer(c, new HttpError(429, `too many ${what} for this user or from your address; try again in ${retryAfterSeconds} s`, { headers: { 'Retry-After': String(retryAfterSeconds) } }))
}

export function forbidden(c: Context, error: string): Response {
  return answer(c, new HttpError(403, error))
}
