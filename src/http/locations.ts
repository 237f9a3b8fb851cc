import type { Context } from 'hono'
import type { AccessControl, Identity } from '../access/access.js'
import type { VisitRecords } from '../access/presence-view.js'
import type { PlaceNames } from '../geo/place-names.js'
import type { HistoryStore } from '../store/types.js'
import { enrichPoint } from './enrich.js'
import { FORMATS, formatStream, type Format, type Point } from './formats/index.js'
import { nameParam, ParamError, parseFields, parseLimit, parseTime, requestParam } from './params.js'

export interface LocationsQuery {
  user: string
  device: string
  /** Inclusive epoch seconds. */
  from: number
  to: number
  limit?: number
  fields?: string[]
  format: Format
}

export function formatNamed(name: string): Format {
  // Own keys only: 'constructor' or '__proto__' are no format.
  const f = Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined
  if (!f) throw new ParamError(`parameter 'format': '${name}' is not one of ${Object.keys(FORMATS).join(', ')}`)
  return f
}

/**
 * The Recorder's `locations` parameters. Without `from`/`to` the window is the last 6 hours; with
 * `limit` (the newest N) it is all history unless `from` says otherwise.
 */
export async function locationsQuery(c: Context, now = Math.floor(Date.now() / 1000)): Promise<LocationsQuery> {
  const user = await nameParam(c, 'user')
  const device = await nameParam(c, 'device')
  if (!user) throw new ParamError("parameter 'user' is required")
  if (!device) throw new ParamError("parameter 'device' is required")
  const limit = parseLimit(await requestParam(c, 'limit'))
  const fields = parseFields(await requestParam(c, 'fields'))
  const format = formatNamed((await requestParam(c, 'format')) || 'json')
  const rawFrom = await requestParam(c, 'from')
  const rawTo = await requestParam(c, 'to')
  const to = rawTo ? parseTime('to', rawTo, true) : now
  const from = rawFrom ? parseTime('from', rawFrom, false) : limit !== undefined ? 0 : to - 6 * 3600
  if (from > to) throw new ParamError(`parameters 'from'/'to': from (${rawFrom}) is after to (${rawTo ?? 'now'})`)
  return { user, device, from, to, limit, fields, format }
}

/** How one viewer reads one device's stored locations: each through access.present(), from historyFrom on. */
export interface DeviceView {
  historyFrom: number
  present(loc: Record<string, unknown>): Record<string, unknown> | null
  /** A presence-only viewer (`precision: place`): its history is the place visits, not the fixes. */
  visits?: () => VisitRecords
}

/** The viewer's view of a device's history, or null when they may not read its location topic. */
export function deviceView(access: AccessControl, who: Identity, user: string, device: string): DeviceView | null {
  const historyFrom = access.historyFrom(who, user, device)
  if (historyFrom === null) return null
  const topic = access.partTopic(user, device, 'location')
  const view: DeviceView = { historyFrom, present: (loc) => access.present(who, topic, loc) }
  if (access.presenceOnly(who, user, device)) view.visits = () => access.visits(who, user, device)!
  return view
}

/** One device's locations as this viewer may see them, ascending by tst, read lazily. */
export async function* servedPoints(history: HistoryStore, view: DeviceView, q: Omit<LocationsQuery, 'format'>, placeNames?: PlaceNames): AsyncIterable<Point> {
  const from = Math.max(q.from, view.historyFrom)
  if (from > q.to) return // a live-only view, or a window before the viewer's history starts
  if (view.visits) {
    // Presence only: the hub's transitions, each as the place (or away) it began; no fix is read.
    const fold = view.visits()
    for await (const t of history.records(q.user, q.device, 'transition', { from, to: q.to, limit: q.limit })) {
      if (typeof t.tst !== 'number' || t.tst < from || t.tst > q.to) continue
      const seen = fold.add(t)
      if (seen) yield enrichPoint(seen)
    }
    return
  }
  for await (const loc of history.locations(q.user, q.device, { from, to: q.to, limit: q.limit })) {
    // The store keys by tst, but the window is the viewer's promise: check the record itself too.
    if (typeof loc.tst !== 'number' || loc.tst < from || loc.tst > q.to) continue
    // place names first, so the decision cuts them to what the viewer may get
    const seen = view.present(placeNames ? placeNames.annotate(loc) : loc)
    if (seen) yield enrichPoint(seen)
  }
}

/** The streamed body of a `locations` answer and its content type. */
export function locationsBody(history: HistoryStore, view: DeviceView, q: LocationsQuery, placeNames?: PlaceNames): { body: ReadableStream<Uint8Array>; contentType: string } {
  return { body: formatStream(servedPoints(history, view, q, placeNames), q.format, q), contentType: q.format.contentType }
}
