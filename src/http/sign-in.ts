import { Hono, type Context } from 'hono'
import type { AccessControl } from '../access/access.js'
import { limitBody } from './body-limit.js'
import type { Logger } from '../log.js'
import { forbidden, isHttps, originAllowed, peerAddress, throttled, type Env, type HttpAuth } from './auth.js'
import { clearedCookie, cookieValue, SESSION_COOKIE, sessionCookie } from './session.js'
import { HttpError } from './errors.js'

/** A user name and a password, as JSON or a form: nobody needs more before signing in. */
export const SIGN_IN_BODY = 16 * 1024

/** What the map needs to know about this hub once someone is signed in. */
export interface MapSettings {
  tileUrl: string
  tileAttribution: string
  topicBase: string
  mqttPort: number
  mqttsPort: number
  /** Whether /ws/last is served (else the map polls /api/0/last). */
  live(): boolean
  /** The MQTT-over-TLS port while TLS runs (phones then need the CA from /ca.crt), else undefined. */
  mqtts?(): number | undefined
  /** The hub's address as phones reach it (--public-url), if the operator said. */
  publicUrl?: string
}

/**
 * The map's sign-in: POST /signin (JSON or form: user, password) opens a session cookie and answers
 * with the CSRF token; GET /session tells a reloaded page who it is (`{"user":null}` when nobody) and
 * gives the token again;
 * POST /signout ends the session. Every sign-in spends one password check of the account's and the
 * address's budget (users/auth-throttle.ts, shared with MQTT and HTTP Basic); with either spent the answer
 * is 429 and the password is not checked, right or wrong. The body is read up to SIGN_IN_BODY bytes.
 */
export function signInRoutes(auth: HttpAuth, settings: MapSettings, log: Logger, access: Pick<AccessControl, 'isAdmin'>): Hono<Env> {
  const app = new Hono<Env>()
  // The map shows admin controls by the same decision the routes behind them use (require-admin.ts).
  const isAdmin = (user: string) => access.isAdmin({ user, admin: false, clientId: `http:${user}` })

  app.post('/signin', limitBody(SIGN_IN_BODY), async (c) => {
    if (!originAllowed((n) => c.req.header(n))) return forbidden(c, 'cross-origin sign-in refused: the Origin header does not match this hub')
    const { user, password } = await credentials(c)
    if (!user || password === undefined) {
      throw new HttpError(400, "give 'user' and 'password' (JSON or form fields)")
    }
    const addr = peerAddress(c)
    const result = await auth.check(addr, user, password)
    if (result === 'throttled') return throttled(c, auth.throttle.retryAfter(addr, user), 'sign-ins')
    if (result === 'wrong') {
      log.info(`Sign-in refused for '${user}' from ${addr}: wrong user name or password.`)
      throw new HttpError(401, 'wrong user name or password')
    }
    auth.sessions.delete(cookieValue(c.req.header('cookie'), SESSION_COOKIE)) // no session fixation: always a fresh id
    const { id, session } = auth.sessions.create(user)
    log.info(`Signed in: '${user}' from ${addr}.`)
    c.header('Set-Cookie', sessionCookie(id, isHttps(c)))
    c.header('Cache-Control', 'no-store')
    return c.json({ user, admin: isAdmin(user), csrf: session.csrf })
  })

  // Asked by every page load, signed in or not: "not signed in" is an answer here, not an error.
  app.get('/session', (c) => {
    c.header('Cache-Control', 'no-store')
    const session = auth.sessions.fromCookie(c.req.header('cookie'))
    if (!session) return c.json({ user: null })
    return c.json({
      user: session.user,
      admin: isAdmin(session.user),
      csrf: session.csrf,
      map: {
        tileUrl: settings.tileUrl,
        tileAttribution: settings.tileAttribution,
        topicBase: settings.topicBase,
        mqttPort: settings.mqttPort,
        mqttsPort: settings.mqttsPort,
        live: settings.live(),
        tlsPort: settings.mqtts?.() ?? null,
        publicUrl: settings.publicUrl ?? null,
      },
    })
  })

  app.use('/signout', auth.middleware())
  app.post('/signout', (c) => {
    auth.sessions.delete(cookieValue(c.req.header('cookie'), SESSION_COOKIE))
    log.info(`Signed out: '${c.get('who').user}'.`)
    c.header('Set-Cookie', clearedCookie(isHttps(c)))
    return c.json({ signedOut: true })
  })

  return app
}

async function credentials(c: Context<Env>): Promise<{ user?: string; password?: string }> {
  const type = c.req.header('content-type') ?? ''
  try {
    const body: Record<string, unknown> = /json/.test(type) ? await c.req.json() : await c.req.parseBody()
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
    return { user: str(body.user), password: str(body.password) }
  } catch {
    return {}
  }
}
