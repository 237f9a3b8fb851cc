import type { AccessControl, Identity } from '../access/access.js'
import type { PlaceNames } from '../geo/place-names.js'
import { enrichPoint } from './enrich.js'
import { formatStream, type Format, type Point } from './formats/index.js'
import type { HistoryStore } from './types.js'

/*
 * The history as one viewer may read it: the window their view allows, each point through the one
 * visibility decision (access.present), enriched as the Recorder answers and written out in a format.
 * The Recorder API and the CLI's export both read this way.
 */

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

/** How one viewer reads one device's stored locations: each through access.present(), from historyFrom on. */
export interface DeviceView {
  historyFrom: number
  present(loc: Record<string, unknown>): Record<string, unknown> | null
}

/** The viewer's view of a device's history, or null when they may not read its location topic. */
export function deviceView(access: AccessControl, who: Identity, user: string, device: string): DeviceView | null {
  const historyFrom = access.historyFrom(who, user, device)
  if (historyFrom === null) return null
  const topic = access.partTopic(user, device, 'location')
  return { historyFrom, present: (loc) => access.present(who, topic, loc) }
}

/** One device's locations as this viewer may see them, ascending by tst, read lazily. */
export async function* servedPoints(history: HistoryStore, view: DeviceView, q: Omit<LocationsQuery, 'format'>, placeNames?: PlaceNames): AsyncIterable<Point> {
  const from = Math.max(q.from, view.historyFrom)
  if (from > q.to) return // a live-only view, or a window before the viewer's history starts
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
