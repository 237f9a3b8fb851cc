import { randomBytes } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { Logger } from '../log.js'
import type { Metrics } from '../ops/metrics.js'
import type { AccessControl } from '../access/access.js'
import type { UserRegistry } from '../users/registry.js'
import { basicAuth, type Env } from './auth.js'
import { requireAdmin } from './require-admin.js'

export interface OpsHttpDeps {
  users: UserRegistry
  access: Pick<AccessControl, 'isAdmin'>
  log: Logger
  metrics?: Metrics
  /** Serve /metrics without authentication (metricsPublic). */
  metricsPublic?: boolean
  /** Why the hub cannot do its job right now (the history refuses writes), or undefined when healthy. */
  trouble?: () => string | undefined
}

const ids = new WeakMap<Request, string>()
const prefix = randomBytes(3).toString('hex')
let counter = 0

/** The request's id: the caller's X-Request-Id when it is a sane token, else one of ours. Logged with errors. */
export function requestId(c: Context): string {
  return ids.get(c.req.raw) ?? '-'
}

/**
 * Operations endpoints and the request middleware; mounted first so it sees every request:
 * - every response carries X-Request-Id, every request is counted in /metrics and logged at debug;
 * - /healthz (open, for Docker's HEALTHCHECK and load balancers): 200, or 503 naming the trouble;
 * - /metrics (Prometheus): admins only unless metricsPublic. It shows no personal data, but it does
 *   show how many people are connected and how active they are, which a family need not publish.
 */
export function opsRoutes(app: Hono<Env>, d: OpsHttpDeps): void {
  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id')
    const rid = given && /^[\w.:-]{1,64}$/.test(given) ? given : `${prefix}-${(++counter).toString(36)}`
    ids.set(c.req.raw, rid)
    const t0 = performance.now()
    await next()
    c.header('X-Request-Id', rid)
    const seconds = (performance.now() - t0) / 1000
    // The most specific route that matched: catch-alls (middleware, the map's static files) say nothing.
    const route = matchedRoutes(c).map((r) => r.path).filter((p) => p !== '*' && !p.endsWith('/*')).at(-1) ?? 'unmatched'
    d.metrics?.http(c.req.method, route, c.res.status, seconds)
    if (d.log.isLevelEnabled('debug')) {
      d.log.debug({ rid, status: c.res.status, ms: Math.round(seconds * 1000) }, `HTTP ${c.req.method} ${c.req.path} ${c.res.status}`)
    }
  })

  app.get('/healthz', (c) => {
    const trouble = d.trouble?.()
    return trouble ? c.json({ status: 'degraded', reason: trouble }, 503) : c.json({ status: 'ok' })
  })

  if (d.metrics) {
    const metrics = d.metrics
    if (!d.metricsPublic) {
      app.use('/metrics', basicAuth(d.users), requireAdmin(d.access, '/metrics is for admins (or start the hub with --metrics-public)'))
    }
    app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }))
  }
}
