import { Hono } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { HistoryStore } from '../store/types.js'
import type { Tours } from '../tours/tours.js'
import type { UserRegistry } from '../users/registry.js'
import type { Logger } from '../log.js'
import type { Env, HttpAuth } from './auth.js'
import { ParamError } from './params.js'
import { recorderApi } from './recorder-api.js'
import { signInRoutes, type MapSettings } from './sign-in.js'
import { securityHeaders, staticRoutes } from './static.js'
import { tourViewRoutes } from './tour-view.js'
import { toursApi } from './tours-api.js'

export interface AppDeps {
  users: UserRegistry
  access: AccessControl
  history: HistoryStore
  base: string
  version: string
  log: Logger
  auth: HttpAuth
  tours: Tours
  map: MapSettings
  publicUrl: string | undefined
}

/**
 * The HTTP side. Open: /healthz, the map's files, sign-in, public tour pages (/view/<uuid>).
 * Everything under /api needs a user (HTTP Basic or the map's session) and answers through the same
 * access decisions as MQTT.
 */
export function createApp(d: AppDeps): Hono<Env> {
  const app = new Hono<Env>()
  app.use('*', securityHeaders(d.map.tileUrl))
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.route('/', signInRoutes(d.auth, d.map, d.log))
  app.use('/api/*', d.auth.middleware())
  app.route('/api/0', recorderApi(d))
  app.route('/api/tours', toursApi(d.tours, d.history, d.publicUrl))
  app.route('/view', tourViewRoutes(d.tours, d.map))
  app.route('/', staticRoutes())
  app.notFound((c) => c.req.path.startsWith('/api/')
    ? c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}`, status: 404 }, 404)
    : c.text('Not found', 404))
  app.onError((err, c) => {
    if (err instanceof ParamError) return c.json({ error: err.message, status: 400 }, 400)
    d.log.error(`HTTP ${c.req.method} ${c.req.path} failed: ${err.message}`)
    return c.json({ error: 'internal error; see the hub log', status: 500 }, 500)
  })
  return app
}
