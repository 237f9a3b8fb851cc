import type { PlaceFields } from '../geo/types.js'
import { staysAndTrips } from './visits.js'
import { STAY_DEFAULTS, type Day, type Fix, type StayOptions } from './types.js'

/** Names a place: offline country, zone and town, plus a cached street address when there is one. */
export type PlaceOf = (lat: number, lon: number) => PlaceFields

/** One day of one device from its fixes (ascending tst, all inside the day). */
export function computeDay(date: string, tz: string, fixes: Fix[], placeOf: PlaceOf, o: StayOptions = STAY_DEFAULTS): Day {
  const { visits, trips } = staysAndTrips(fixes, o)
  for (const v of visits) Object.assign(v, placeOf(v.lat, v.lon))
  const countries = new Set<string>()
  // Every tenth fix is enough to see a border crossed; visits add the places stayed at.
  for (let i = 0; i < fixes.length; i += 10) { const cc = placeOf(fixes[i].lat, fixes[i].lon).cc; if (cc) countries.add(cc) }
  for (const v of visits) if (v.cc) countries.add(v.cc)
  const towns = [...new Set(visits.map((v) => v.locality).filter((t): t is string => !!t))]
  return {
    summary: {
      date, tz,
      distance: trips.reduce((s, t) => s + t.distance, 0),
      moving: trips.reduce((s, t) => s + (t.to - t.from), 0),
      visits: visits.length,
      countries: [...countries].sort(),
      towns,
      first: fixes[0]?.tst,
      last: fixes.at(-1)?.tst,
      fixes: fixes.length,
    },
    visits, trips,
  }
}

/** A stored location as a Fix, or undefined when it has no usable coordinates. */
export function fixOf(loc: Record<string, unknown>): Fix | undefined {
  const { tst, lat, lon, acc, vel } = loc
  if (typeof tst !== 'number' || typeof lat !== 'number' || typeof lon !== 'number' || !Number.isFinite(lat) || !Number.isFinite(lon)) return undefined
  return { tst, lat, lon, acc: typeof acc === 'number' ? acc : undefined, vel: typeof vel === 'number' ? vel : undefined }
}
