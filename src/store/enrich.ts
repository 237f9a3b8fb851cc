import { ghash } from '../geo/ghash.js'
import { copyFields } from '../owntracks/copy-fields.js'

// toISOString() always ends in .sssZ: the Recorder's form has whole seconds
const iso = (tst: number) => `${new Date(tst * 1000).toISOString().slice(0, -5)}Z`

const DAY = 86400
const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'))
/** The UTC day of the last whole-second tst asked for, and its date as toISOString writes it: a track's points share their day. */
let dayStart = NaN
let dayIso = ''

/**
 * The Recorder's time fields: `isotst` 2015-08-24T08:40:01Z and `disptst` 2015-08-24 08:40:01. A day
 * is 86,400 s in UTC (JS time has no leap seconds), so within the day of the last tst only the clock
 * is written, not a Date made and formatted for each of a year's half a million points.
 */
export function timeFields(tst: number): { isotst: string; disptst: string } {
  // far inside the range of a Date, where toISOString would not throw
  if (Number.isInteger(tst) && Math.abs(tst) < 8e12) {
    let s = tst - dayStart
    if (!(s >= 0 && s < DAY)) {
      dayStart = tst - (((tst % DAY) + DAY) % DAY)
      dayIso = new Date(dayStart * 1000).toISOString().slice(0, -14)
      s = tst - dayStart
    }
    const clock = `${TWO[Math.floor(s / 3600)]}:${TWO[Math.floor(s / 60) % 60]}:${TWO[s % 60]}`
    return { isotst: `${dayIso}T${clock}Z`, disptst: `${dayIso} ${clock}` }
  }
  const isotst = iso(tst)
  return { isotst, disptst: isotst.replace('T', ' ').replace('Z', '') }
}

/** What the Recorder adds to a stored location in `last`: who, where it came from, readable times, geohash. */
export function enrichLast(loc: Record<string, unknown>, user: string, device: string, topic: string, card?: Record<string, unknown>): Record<string, unknown> {
  // { ...enrichPoint(loc), username, device, topic } without the spread, a quarter of /api/0/last's time:
  // a key the payload has already keeps its place and takes the new value, as in the spread.
  const out = enrichPoint(loc)
  out.username = user
  out.device = device
  out.topic = topic
  if (card?.name !== undefined) out.name = card.name
  if (card?.face !== undefined) out.face = card.face
  return out
}

/** A location as `locations` and the live feed serve it: the (viewer's) payload plus readable times and geohash. */
export function enrichPoint(loc: Record<string, unknown>): Record<string, unknown> {
  // { ...loc, ...timeFields(loc.tst) }, without the spreads (copy-fields.ts says why)
  const out = copyFields(loc)
  if (typeof loc.tst === 'number') {
    const t = timeFields(loc.tst)
    out.isotst = t.isotst
    out.disptst = t.disptst
  }
  if (typeof loc.lat === 'number' && typeof loc.lon === 'number') out.ghash = ghash(loc.lat, loc.lon)
  return out
}

export function pick(o: Record<string, unknown>, fields: string[] | undefined): Record<string, unknown> {
  if (!fields) return o
  const out: Record<string, unknown> = {}
  for (const f of fields) if (f in o) out[f] = o[f]
  return out
}
