import { createRequire } from 'node:module'
import tzLookup from '@photostructure/tz-lookup'
import { nearestTown } from './towns.js'
import type { PlaceDetail, PlaceFields } from './types.js'

/*
 * Country, time zone and town without asking anyone: the fixes never leave the hub.
 * - country: @rapideditor/country-coder (OpenStreetMap's borders, territorial waters included; 3 MB, ~5 µs)
 * - time zone: @photostructure/tz-lookup (a 100 kB raster of the IANA zones; ~2 µs; at sea the nautical
 *   Etc/GMT±N zone). geo-tz is more exact along borders but weighs 71 MB and grows RSS by hundreds of MB.
 * - town: towns.ts (GeoNames, loaded on first use).
 */
// country-coder builds its border index when loaded (seconds on a slow machine): load it on first use, so
// the hub and every CLI command start without it.
type CountryCoder = typeof import('@rapideditor/country-coder')
let coder: CountryCoder | undefined
const countryCoder = (): CountryCoder => (coder ??= createRequire(import.meta.url)('@rapideditor/country-coder') as CountryCoder)

export function offlinePlace(lat: number, lon: number, detail: PlaceDetail = 'street'): PlaceFields {
  const out: PlaceFields = {}
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180) return out
  const cc = countryCoder().iso1A2Code([lon, lat])
  if (cc) out.cc = cc
  out.tzname = tzLookup(lat, lon)
  if (detail !== 'country') {
    const town = nearestTown(lat, lon)
    if (town) out.locality = town
  }
  return out
}
