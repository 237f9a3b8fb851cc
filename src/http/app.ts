import { Hono } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { HistoryStore } from '../store/types.js'
import type { UserRegistry } from '../users/registry.js'
import type { Logger } from '../log.js'
import { basicAuth, type Env } from './auth.js'
import { caCertificate } from './ca.js'
import { cardsApi, type CardsApiDeps } from './cards-api.js'
import { cmdApi, type CmdApiDeps } from './cmd-api.js'
import { ParamError } from './params.js'
import { recorderApi } from './recorder-api.js'
import { transport, type TransportOptions } from './transport.js'

export interface AppDeps {
  users: UserRegistry
  access: AccessControl
  history: HistoryStore
  base: string
  version: string
  log: Logger
  /** HTTPS redirect and Secure cookies (tls). */
  transport?: TransportOptions
  /** The CA certificate file phones import, when there is one. */
  caFile?: () => string | undefined
  cards?: Pick<CardsApiDeps, 'cards'>
  cmds?: Pick<CmdApiDeps, 'commands' | 'publish'>
}

/** The HTTP side: /healthz open, everything else behind the same users and access decisions as MQTT. */
export function createApp(d: AppDeps): Hono<Env> {
  const app = new Hono<Env>()
  if (d.transport) app.use('*', transport(d.transport))
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  if (d.caFile) app.get('/ca.crt', caCertificate(d.caFile))
  app.use('/api/*', basicAuth(d.users))
  app.route('/api/0', recorderApi(d))
  if (d.cards) app.route('/api', cardsApi({ ...d, ...d.cards }))
  if (d.cmds) app.route('/api/0', cmdApi({ ...d, ...d.cmds }))
  app.onError((err, c) => {
    if (err instanceof ParamError) return c.json({ error: err.message, status: 400 }, 400)
    d.log.error(`HTTP ${c.req.method} ${c.req.path} failed: ${err.message}`)
    return c.json({ error: 'internal error; see the hub log', status: 500 }, 500)
  })
  return app
}
