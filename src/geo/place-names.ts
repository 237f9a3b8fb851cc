import type { Geocoder } from './geocoder.js'
import { offlineCell, offlinePlace } from './offline.js'
import type { PlaceDetail, PlaceFields } from './types.js'

export const PLACE_FIELDS = ['cc', 'tzname', 'locality', 'addr'] as const

/**
 * Names for places: country, zone and town offline, a street address from the operator's geocoder's
 * cache when one is configured. Adding names never waits for the network: a place not cached yet is
 * queued (`notice`) and has its address from the next read on.
 */
export class PlaceNames {
  constructor(readonly geocoder?: Geocoder) {}

  /** The names of lat/lon, down to `detail`. */
  of(lat: number, lon: number, detail: PlaceDetail = 'street'): PlaceFields {
    const out = offlinePlace(lat, lon, detail)
    if (detail === 'street' && this.geocoder) {
      const a = this.geocoder.lookup(lat, lon)
      if (a?.addr) out.addr = a.addr
      if (a?.locality) out.locality = a.locality
    }
    return out
  }

  /**
   * A number shared by the points of() names alike (street detail), undefined when there is none to
   * promise: with a geocoder, whose addresses come by another grid, or before the towns are loaded.
   */
  cellOf(lat: number, lon: number): number | undefined {
    return this.geocoder ? undefined : offlineCell(lat, lon)
  }

  /** A stored location with its place names added (the exact view; access/ decides what others get). */
  annotate(loc: Record<string, unknown>): Record<string, unknown> {
    if (loc._type !== 'location' || typeof loc.lat !== 'number' || typeof loc.lon !== 'number') return loc
    // What the phone sent itself (e.g. `addr` from a geocoding app) wins over our names. The keys and
    // their order are those of { ...names, ...loc }, built by two loops: V8 takes that double spread
    // down a slow path (tens of µs a point, most of a streamed year's time).
    const names = this.of(loc.lat, loc.lon) as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const k in names) out[k] = Object.hasOwn(loc, k) ? loc[k] : names[k]
    for (const k in loc) {
      // A payload's own "__proto__" key is a field like any other; assigned, it would set the prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: loc[k], enumerable: true, writable: true, configurable: true })
      else out[k] = loc[k]
    }
    return out
  }

  /** A fix was stored: ask the geocoder about its place in the background. */
  notice(loc: Record<string, unknown>): void {
    if (this.geocoder && typeof loc.lat === 'number' && typeof loc.lon === 'number') this.geocoder.notice(loc.lat, loc.lon)
  }
}
