import { Hono, type Context } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { Logger } from '../log.js'
import type { Monitor } from '../monitor.js'
import { ghash } from '../geo/ghash.js'
import type { PlaceNames } from '../geo/place-names.js'
import type { HistoryStore } from '../store/types.js'
import type { Env } from './auth.js'
import { HttpError } from './errors.js'
import { enrichLast, pick } from '../store/enrich.js'
import { deviceView, locationsBody } from '../store/viewer-history.js'
import { locationsQuery } from './locations.js'
import { nameParam, ParamError, parseFields, parseNumber, requestParam } from './params.js'
import { facePng } from './photo.js'
import { requireAdmin } from './require-admin.js'
import { sameSecret } from './session.js'
import { seenDevices } from './visible.js'

export interface RecorderApiDeps {
  history: HistoryStore
  access: AccessControl
  base: string
  version: string
  log: Logger
  monitor: Monitor
  /** Country, time zone, town and cached address for each location (`cc`, `tzname`, `locality`, `addr`). */
  placeNames?: PlaceNames
}


/**
 * The OwnTracks Recorder's /api/0 (recorder-api.md): the same paths, parameters and shapes, but every
 * answer passes the access decision (access.present), so a user sees of each device exactly what an MQTT
 * subscription would bring them: the same parts, blurred the same way.
 */
export function recorderApi(d: RecorderApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  const annotate = d.placeNames && ((loc: Record<string, unknown>) => d.placeNames!.annotate(loc))
  const visible = (c: Context<Env>) => seenDevices(d.access, d.history, c.get('who'), annotate)

  api.get('/version', (c) => c.json({ version: d.version }))

  api.on(['GET', 'POST'], '/list', async (c) => {
    const user = await nameParam(c, 'user')
    const device = await nameParam(c, 'device')
    const devs = visible(c)
    if (user === undefined) return c.json({ results: [...new Set(devs.map((x) => x.user))].sort() })
    const mine = devs.filter((x) => x.user === user)
    if (device === undefined) return c.json({ results: mine.map((x) => x.device).sort() })
    const dev = mine.find((x) => x.device === device)
    // Only months the viewer's history reaches into: a month is listed if it ends after historyFrom.
    const reached = (m: string) => Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)), 1) / 1000 > (dev?.historyFrom ?? Infinity)
    return c.json({ results: dev ? dev.months.filter(reached) : [] })
  })

  api.on(['GET', 'POST'], '/last', async (c) => {
    const user = await nameParam(c, 'user')
    const device = await nameParam(c, 'device')
    const fields = parseFields(await requestParam(c, 'fields'))
    const out = visible(c)
      .filter((x) => x.last && (user === undefined || x.user === user) && (device === undefined || x.device === device))
      .sort((a, b) => (a.user + '/' + a.device).localeCompare(b.user + '/' + b.device))
      .map((x) => pick(enrichLast(x.last!, x.user, x.device, x.lastTopic, x.card), fields))
    return c.json(out)
  })

  api.on(['GET', 'POST'], '/locations', async (c) => {
    const q = await locationsQuery(c)
    const view = deviceView(d.access, c.get('who'), q.user, q.device)
    if (!view) throw new HttpError(403, `you may not read ${q.user}/${q.device}`)
    const { body, contentType } = locationsBody(d.history, view, q, d.placeNames)
    return c.body(body, 200, { 'content-type': contentType })
  })

  // The Recorder serves the face of the user's card; the hub keeps cards per device, so it takes the
  // card of the user's most recently seen device the caller may see.
  api.get('/photo', async (c) => {
    const user = await nameParam(c, 'user')
    if (!user) throw new ParamError("parameter 'user' is required")
    const withCard = visible(c).filter((x) => x.user === user && x.card)
      .sort((a, b) => Number(b.last?.tst ?? 0) - Number(a.last?.tst ?? 0))[0]
    const face = withCard?.card?.face
    return c.body(new Uint8Array(await facePng(face)), 200, { 'content-type': 'image/png', 'cache-control': 'private, max-age=60' })
  })

  api.on(['GET', 'POST'], '/monitor', (c) => {
    const who = c.get('who')
    // Each topic by its own read decision: a location share shows neither `…/cmd` nor `…/dump`.
    const seen = d.monitor.latest((topic) => d.access.canRead(who, topic))
    if (!seen) throw new HttpError(404, 'nothing received yet', { plain: true }) // the Recorder's plain-text answer
    return c.text(`${seen.at} ${seen.topic}\n`)
  })

  api.on(['GET', 'POST'], '/kill', requireAdmin(d.access, 'only an admin may delete history (kill)'), async (c) => {
    const who = c.get('who')
    // The Recorder's kill is a GET, which the cross-site middleware lets through without a token. With
    // Basic credentials (the Recorder's own form, scripts) that stays so; with the map's cookie a GET
    // could be a link someone was made to open, so the session's CSRF token is required whatever the method.
    const session = c.get('session')
    if (session && !sameSecret(c.req.header('x-csrf-token'), session.csrf)) {
      throw new HttpError(403, 'CSRF token missing or wrong: deleting history with the map\'s session needs the X-CSRF-Token the hub gave at sign-in')
    }
    const user = await nameParam(c, 'user')
    const device = await nameParam(c, 'device')
    if (!user) throw new ParamError("parameter 'user' is required")
    if (!device) throw new ParamError("parameter 'device' is required")
    const months = d.history.device(user, device)?.months ?? []
    const count = await d.history.deleteDevice(user, device)
    d.log.info(`Deleted the history of ${user}/${device} (${count} locations) at the request of ${who.user ?? who.clientId}`)
    return c.json({ path: `${user}/${device}`, status: 'OK', killed: months.map((m) => `${m}.rec`), locations: count })
  })

  // The Recorder answers from its reverse-geo cache: here the offline names, and the geocoder's cached
  // address of the 150 m cell when --geocoder is set. The cache holds only places someone was at: its
  // addresses are for admins.
  api.on(['GET', 'POST'], '/q', async (c) => {
    const lat = parseNumber('lat', await requestParam(c, 'lat'), -90, 90)
    const lon = parseNumber('lon', await requestParam(c, 'lon'), -180, 180)
    const names = d.placeNames?.of(lat, lon, d.access.isAdmin(c.get('who')) ? 'street' : 'town')
    if (!names || Object.keys(names).length === 0) throw new HttpError(404, 'no name known for this place')
    return c.json({ ...names, ghash: ghash(lat, lon) })
  })

  return api
}
