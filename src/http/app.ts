import { Hono } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { HistoryStore } from '../store/types.js'
import type { UserRegistry } from '../users/registry.js'
import type { Logger } from '../log.js'
import { basicAuth, type Env } from './auth.js'
import { ParamError } from './params.js'
import { recorderApi } from './recorder-api.js'
import { sharingApi } from './sharing-api.js'

export interface AppDeps {
  users: UserRegistry
  access: AccessControl
  history: HistoryStore
  base: string
  version: string
  log: Logger
}

/** The HTTP side: /healthz open, everything else behind the same users and access decisions as MQTT. */
export function createApp(d: AppDeps): Hono<Env> {
  const app = new Hono<Env>()
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.use('/api/*', basicAuth(d.users))
  app.route('/api/0', recorderApi(d))
  app.route('/api/sharing', sharingApi(d))
  app.onError((err, c) => {
    if (err instanceof ParamError) return c.json({ error: err.message, status: 400 }, 400)
    d.log.error(`HTTP ${c.req.method} ${c.req.path} failed: ${err.message}`)
    return c.json({ error: 'internal error; see the hub log', status: 500 }, 500)
  })
  return app
}
