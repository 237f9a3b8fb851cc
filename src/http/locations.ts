import type { Context } from 'hono'
import type { DeviceView } from '../access/access.js'
import type { Places } from '../places/places.js'
import type { HistoryStore } from '../store/types.js'
import { enrichPoint } from './enrich.js'
import { FORMATS, formatStream, type Format, type Point } from './formats/index.js'
import { ParamError, parseFields, parseLimit, parseTime, requestParam } from './params.js'

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
  const f = FORMATS[name]
  if (!f) throw new ParamError(`parameter 'format': '${name}' is not one of ${Object.keys(FORMATS).join(', ')}`)
  return f
}

/**
 * The Recorder's `locations` parameters. Without `from`/`to` the window is the last 6 hours; with
 * `limit` (the newest N) it is all history unless `from` says otherwise.
 */
export async function locationsQuery(c: Context, now = Math.floor(Date.now() / 1000)): Promise<LocationsQuery> {
  const user = await requestParam(c, 'user')
  const device = await requestParam(c, 'device')
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

/** One device's locations as this viewer may see them, ascending by tst, read lazily. */
export async function* servedPoints(history: HistoryStore, view: DeviceView, q: Omit<LocationsQuery, 'format'>, places?: Places): AsyncIterable<Point> {
  const from = Math.max(q.from, view.historyFrom)
  if (from > q.to) return // a live-only view, or a window before the viewer's history starts
  for await (const loc of history.locations(q.user, q.device, { from, to: q.to, limit: q.limit })) yield enrichPoint(view.transform(places ? places.annotate(loc) : loc))
}

/** The streamed body of a `locations` answer and its content type. */
export function locationsBody(history: HistoryStore, view: DeviceView, q: LocationsQuery, places?: Places): { body: ReadableStream<Uint8Array>; contentType: string } {
  return { body: formatStream(servedPoints(history, view, q, places), q.format, q), contentType: q.format.contentType }
}
