import { Hono, type ErrorHandler } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { CommandQueue } from '../cmd-queue.js'
import type { Ingest } from '../ingest.js'
import type { Monitor } from '../monitor.js'
import type { HistoryStore } from '../store/types.js'
import type { Tours } from '../tours/tours.js'
import type { UserRegistry } from '../users/registry.js'
import type { Logger } from '../log.js'
import type { Env, HttpAuth } from './auth.js'
import { caCertificate } from './ca.js'
import { cardsApi, type CardsApiDeps } from './cards-api.js'
import { cmdApi } from './cmd-api.js'
import { opsRoutes, requestId, type OpsHttpDeps } from './ops-routes.js'
import { TimeError } from '../owntracks/time.js'
import { HttpError, answer } from './errors.js'
import { ParamError } from './params.js'
import type { Publish } from '../mqtt/publish.js'
import { httpMode } from './pub.js'
import { recorderApi } from './recorder-api.js'
import { whereApi } from './where-api.js'
import type { Days } from '../days/store.js'
import type { PlaceNames } from '../geo/place-names.js'
import { sharingApi } from './sharing-api.js'
import { usersApi } from './users-api.js'
import { signInRoutes, type MapSettings } from './sign-in.js'
import { limitBody } from './body-limit.js'
import { cors } from './cors.js'
import { docrootRoutes, securityHeaders, staticRoutes } from './static.js'
import { tourViewRoutes } from './tour-view.js'
import { toursApi } from './tours-api.js'
import { redirectToHttps, secureCookies, type HttpsRedirectOptions } from './https.js'
import type { WebPush } from '../alerts/web-push.js'
import { placesApi, type PlacesApiDeps } from './places-api.js'
import { pushApi } from './push-api.js'

export interface AppDeps {
  users: UserRegistry
  access: AccessControl
  history: HistoryStore
  base: string
  version: string
  log: Logger
  // The Recorder's extras: HTTP-mode phones, commands for them, `monitor`, --docroot.
  ingest: Ingest
  commands: CommandQueue
  publish: Publish
  monitor: Monitor
  /** A web app (e.g. a built OwnTracks Frontend) served at / instead of the built-in map. */
  docroot?: string
  /** The Content-Security-Policy for the docroot's files (none without it). */
  docrootCsp?: string
  /** Origins of web apps on other sites that may call /api/* with credentials (--cors-origin). */
  corsOrigins?: ReadonlySet<string>
  /** --https-redirect, while HTTPS runs (tls). */
  https?: HttpsRedirectOptions
  /** The CA certificate file phones import, when there is one. */
  caFile?: () => string | undefined
  cards?: Pick<CardsApiDeps, 'cards'>
  /** /healthz, /metrics, request ids (ops-routes.ts). */
  ops?: Omit<OpsHttpDeps, 'auth' | 'access' | 'log'>
  // The map: sign-in sessions, tours, tile settings.
  auth: HttpAuth
  tours: Tours
  map: MapSettings
  publicUrl: string | undefined
  /** Largest request body in bytes on any route (--max-body); sign-in has its own, smaller one. */
  maxBody?: number
  placeNames?: PlaceNames
  days?: Days
  /** Places, alerts and Web Push (acl/places.yml). */
  places?: Omit<PlacesApiDeps, 'access' | 'history' | 'log' | 'base'> & { push: WebPush; pushHttp: boolean }
}

/**
 * The one place HTTP errors are answered: an HttpError (ParamError is one) as it asks, a time in no
 * known form as 400; anything else is logged once and answers 500.
 */
export function errorHandler(log: Logger): ErrorHandler<Env> {
  return (err, c) => {
    if (err instanceof TimeError) err = new ParamError(err.message)
    if (err instanceof HttpError) return answer(c, err)
    log.error({ rid: requestId(c) }, `HTTP ${c.req.method} ${c.req.path} failed: ${err.message}`)
    return answer(c, new HttpError(500, 'internal error; see the hub log'))
  }
}

/**
 * The HTTP side. Open: /healthz, the map's files, sign-in, public tour pages (/view/<uuid>).
 * Everything under /api needs a user (HTTP Basic or the map's session) and answers through the same
 * access decisions as MQTT.
 */
export function createApp(d: AppDeps): Hono<Env> {
  const app = new Hono<Env>()
  if (d.https) app.use('*', redirectToHttps(d.https))
  app.use('*', secureCookies())
  // Every route: a body over the limit is refused with 413 as soon as its length is known or exceeded.
  if (d.maxBody) app.use('*', limitBody(d.maxBody))
  app.use('*', securityHeaders(d.map.tileUrl))
  opsRoutes(app, { ...d.ops, auth: d.auth, access: d.access, log: d.log })
  if (d.caFile) app.get('/ca.crt', caCertificate(d.caFile))
  app.route('/', signInRoutes(d.auth, d.map, d.log, d.access))
  if (d.corsOrigins?.size) app.use('/api/*', cors(d.corsOrigins))
  app.use('/api/*', d.auth.middleware())
  app.route('/api/0', recorderApi(d))
  if (d.days) app.route('/api/0', whereApi({ ...d, days: d.days }))
  if (d.cards) app.route('/api', cardsApi({ ...d, ...d.cards }))
  app.route('/api/sharing', sharingApi(d))
  app.route('/api/users', usersApi(d))
  if (d.places) {
    app.route('/api/places', placesApi({ ...d, ...d.places }))
    app.route('/api/push', pushApi({ push: d.places.push, log: d.log, allowHttp: d.places.pushHttp }))
  }
  app.route('/api/0', cmdApi(d))
  app.route('/api/tours', toursApi(d.tours, d.history, d.publicUrl))
  // Phones in HTTP mode send Basic credentials with every POST; they have no session.
  app.use('/pub', d.auth.basic())
  app.route('/pub', httpMode(d))
  app.route('/view', tourViewRoutes(d.tours, d.map))
  if (d.docroot) {
    // As the Recorder's --doc-root, but behind the login: the browser asks once, and the app's own
    // API and /ws/last requests then carry the same credentials.
    app.use('/*', d.auth.middleware())
    app.use('/*', ...docrootRoutes(d.docroot, d.docrootCsp))
  } else {
    app.route('/', staticRoutes())
  }
  app.notFound((c) => {
    if (c.req.path.startsWith('/api/')) return answer(c, new HttpError(404, `no such endpoint: ${c.req.method} ${c.req.path}`))
    return c.text('Not found', 404)
  })
  app.onError(errorHandler(d.log))
  return app
}
