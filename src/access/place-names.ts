import { offlinePlace } from '../geo/offline.js'
import type { PlaceDetail, PlaceFields } from '../geo/types.js'
import { cellMetres } from './precision.js'
import type { Precision } from './types.js'

/** How much of a place's name a grid of `p` allows: a town for cells up to 10 km, else the country. Never a street. */
export function detailFor(p: Precision | null): PlaceDetail {
  if (p === null) return 'street'
  return cellMetres(p) <= 10_000 ? 'town' : 'country'
}

/**
 * The place names a viewer through `p` may get of `original` (a location the hub named): named again
 * from the blurred position (the cell's centre), so a name reveals no more than the cell does, and cut
 * to what detailFor allows. view-fields.ts drops the original names (class 'place') and puts these on
 * the blurred copy. Only a location the hub named (Places.annotate always sets `tzname`) gets names:
 * MQTT deliveries stay as published, whatever `addr` a phone may have sent itself.
 */
export function namesForCell(original: Record<string, unknown>, lat: number, lon: number, p: Precision): PlaceFields {
  if (!Object.prototype.hasOwnProperty.call(original, 'tzname')) return {}
  return offlinePlace(lat, lon, detailFor(p))
}
