import { offlinePlace } from '../places/offline.js'
import type { PlaceDetail } from '../places/types.js'
import { cellMetres } from './precision.js'
import type { Precision } from './types.js'

const NAMES = ['cc', 'tzname', 'locality', 'addr'] as const

/** How much of a place's name a grid of `p` allows: a town for cells up to 10 km, else the country. Never a street. */
export function detailFor(p: Precision | null): PlaceDetail {
  if (p === null) return 'street'
  return cellMetres(p) <= 10_000 ? 'town' : 'country'
}

/**
 * The place names of `original` as a viewer through `p` may get them, put on its blurred copy: named
 * again from the cell's centre (the blurred coordinates), so a name reveals no more than the cell does,
 * and cut to what detailFor allows. A record that carried no names gets none.
 */
export function blurNames(original: Record<string, unknown>, blurred: Record<string, unknown>, p: Precision): Record<string, unknown> {
  if (!NAMES.some((f) => f in original)) return blurred
  const out = { ...blurred }
  for (const f of NAMES) delete out[f]
  if (typeof out.lat !== 'number' || typeof out.lon !== 'number') return out
  return { ...out, ...offlinePlace(out.lat, out.lon, detailFor(p)) }
}
