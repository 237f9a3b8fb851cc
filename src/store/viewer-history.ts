import type { AccessControl, Identity } from '../access/access.js'
import type { VisitRecords } from '../access/presence-view.js'
import type { PlaceNames } from '../geo/place-names.js'
import { enrichPoint } from './enrich.js'
import { formatBatches, type Format, type Point, type Served } from './formats/index.js'
import { OUTSIDE, PointTexts } from './point-text.js'
import type { HistoryStore } from './types.js'

/*
 * The history as one viewer may read it: the window their view allows, each point through the one
 * visibility decision (access.present), enriched as the Recorder answers and written out in a format.
 * The Recorder API and the CLI's export both read this way. A presence-only viewer's history is
 * the place visits folded from the hub's transitions (access/presence-view.ts), never the fixes.
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
  /**
   * Whether the viewer sees the device's locations as published now (ViewSpec.shared false: the owner,
   * an admin, a plain acl_file line), so present() would return each one unchanged. Asked again for
   * every batch of a long answer, as present() would be for every point. Absent: never assumed.
   */
  asPublished?(): boolean
  /** A presence-only viewer (`precision: place`): its history is the place visits, not the fixes. */
  visits?: () => VisitRecords
}

/** The viewer's view of a device's history, or null when they may not read its location topic. */
export function deviceView(access: AccessControl, who: Identity, user: string, device: string): DeviceView | null {
  const historyFrom = access.historyFrom(who, user, device)
  if (historyFrom === null) return null
  const topic = access.partTopic(user, device, 'location')
  const view: DeviceView = {
    historyFrom,
    present: (loc) => access.present(who, topic, loc),
    asPublished: () => access.readsAsPublished(who, topic),
  }
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
    const p = served(view, loc, placeNames)
    if (p) yield p
  }
}

/** One stored location as the viewer sees it: place names first, so the decision cuts them to what the viewer may get. */
function served(view: DeviceView, loc: Record<string, unknown>, placeNames?: PlaceNames): Point | null {
  const seen = view.present(placeNames ? placeNames.annotate(loc) : loc)
  return seen && enrichPoint(seen)
}

/**
 * One device's locations as this viewer may see them, ascending by tst, a store batch at a time. Read
 * from the stored text when the store has it: a viewer who sees a location as published gets it spliced
 * (point-text.ts) when the format writes from text; everything else goes through servedPoints' steps.
 */
export async function* servedBatches(history: HistoryStore, view: DeviceView, q: Omit<LocationsQuery, 'format'>, format: Format, placeNames?: PlaceNames): AsyncIterable<Served[]> {
  const from = Math.max(q.from, view.historyFrom)
  if (view.visits || !history.locationTexts) {
    for await (const p of servedPoints(history, view, q, placeNames)) yield [p]
    return
  }
  if (from > q.to) return
  const texts = format.spliced && new PointTexts(placeNames, (loc) => enrichPoint(placeNames ? placeNames.annotate(loc) : loc))
  for await (const batch of history.locationTexts(q.user, q.device, { from, to: q.to, limit: q.limit })) {
    const spliced = texts && view.asPublished?.() === true ? texts : undefined
    const out: Served[] = []
    for (const json of batch) {
      const flat = spliced?.ofFlat(json, from, q.to) ?? null
      if (flat === OUTSIDE) continue
      if (flat) { out.push(flat); continue }
      const loc = JSON.parse(json) as Record<string, unknown>
      // The store keys by tst, but the window is the viewer's promise: check the record itself too.
      if (typeof loc.tst !== 'number' || loc.tst < from || loc.tst > q.to) continue
      const p = spliced?.of(json, loc) ?? served(view, loc, placeNames)
      if (p) out.push(p)
    }
    if (out.length > 0) yield out
  }
}

/** The streamed body of a `locations` answer and its content type. */
export function locationsBody(history: HistoryStore, view: DeviceView, q: LocationsQuery, placeNames?: PlaceNames): { body: ReadableStream<Uint8Array>; contentType: string } {
  return { body: formatBatches(servedBatches(history, view, q, q.format, placeNames), q.format, q), contentType: q.format.contentType }
}
