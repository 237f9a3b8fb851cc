import { createRequire } from 'node:module'
import tzLookup from '@photostructure/tz-lookup'
import { nearestTown, townsLoaded } from './towns.js'
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

/**
 * Names are those of the centre of the point's cell, 1/1000 of a degree (~110 m north–south, less
 * east–west): a phone's fixes fall into a few cells over and over (home, work, the way between), so a
 * year of them streamed with names costs a few thousand lookups, not one per point (~10 µs each).
 * The cell is far below what the sources resolve (0.1° town grid, zone raster, coastline-scale borders).
 * Answers are kept for the most recent CACHE_CELLS cells; without the towns loaded yet nothing is kept,
 * so a cell is never remembered without its town.
 */
const PER_DEGREE = 1000
const CACHE_CELLS = 8192
const cells = new Map<string, PlaceFields>()

const onMap = (lat: number, lon: number) => Number.isFinite(lat) && Number.isFinite(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
/** A coordinate's row or column of cells; times 1/PER_DEGREE, the cell centre's. */
const cellIndex = (deg: number) => Math.round(deg * PER_DEGREE)

export function offlinePlace(lat: number, lon: number, detail: PlaceDetail = 'street'): PlaceFields {
  if (!onMap(lat, lon)) return {}
  const row = cellIndex(lat), col = cellIndex(lon)
  const key = `${detail === 'country' ? 'c' : 't'}${row},${col}`
  const hit = cells.get(key)
  if (hit) return { ...hit }
  const names = lookup(row / PER_DEGREE, col / PER_DEGREE, detail)
  if (detail === 'country' || townsLoaded()) {
    if (cells.size >= CACHE_CELLS) cells.delete(cells.keys().next().value!)
    cells.set(key, names)
  }
  return { ...names }
}

/**
 * The cell offlinePlace answers lat/lon from, as a number: two points of one cell get the same names
 * (street detail), so a reader of many points asks once per cell. Undefined while the towns are not
 * loaded (a cell is named without its town then, and that answer is not the cell's) or off the map.
 */
export function offlineCell(lat: number, lon: number): number | undefined {
  if (!onMap(lat, lon) || !townsLoaded()) return undefined
  // rows -90,000…90,000 and columns -180,000…180,000: every pair its own number
  return cellIndex(lat) * 400_000 + cellIndex(lon)
}

/**
 * The zone offlinePlace names for lat/lon (its cell centre's), alone: a device's day is cut in it, asked
 * for every device with new fixes, and the country's borders (loading them holds the hub up for some
 * 60 ms, once) are no part of it.
 */
export function offlineZone(lat: number, lon: number): string | undefined {
  if (!onMap(lat, lon)) return undefined
  return tzLookup(cellIndex(lat) / PER_DEGREE, cellIndex(lon) / PER_DEGREE)
}

function lookup(lat: number, lon: number, detail: PlaceDetail): PlaceFields {
  const out: PlaceFields = {}
  const cc = countryCoder().iso1A2Code([lon, lat])
  if (cc) out.cc = cc
  out.tzname = tzLookup(lat, lon)
  if (detail !== 'country') {
    const town = nearestTown(lat, lon)
    if (town) out.locality = town
  }
  return out
}
