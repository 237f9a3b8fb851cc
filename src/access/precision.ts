import ngeohash from 'ngeohash'
import type { GridPrecision, Precision } from './types.js'

/*
 * Reduced precision: the receiver gets the centre of the grid cell the fix lies in, `acc` raised to the
 * cell's half-diagonal (the true fix is somewhere in the cell); view-fields.ts decides which fields
 * go with it. The grid is fixed (not centred on the fix), so repeated fixes inside one
 * cell all land on the same point and averaging them reveals nothing.
 */

const M_PER_DEG = 111_320
const rad = (d: number) => (d * Math.PI) / 180
const round6 = (x: number) => Math.round(x * 1e6) / 1e6

export interface Cell { lat: number; lon: number; radius: number }

/** The cell of `lat`,`lon` on the grid of `p`: its centre and half-diagonal in metres. */
export function snap(lat: number, lon: number, p: GridPrecision): Cell {
  if (p.kind === 'geohash') {
    const [minLat, minLon, maxLat, maxLon] = ngeohash.decode_bbox(ngeohash.encode(lat, lon, p.length))
    const cLat = (minLat + maxLat) / 2
    const cLon = (minLon + maxLon) / 2
    return { lat: round6(cLat), lon: round6(cLon), radius: halfDiagonal(maxLat - minLat, maxLon - minLon, cLat) }
  }
  // Rows of equal height in latitude; within a row, columns as wide in metres as the row is high.
  const dLat = p.metres / M_PER_DEG
  const row = Math.min(Math.floor((lat + 90) / dLat), Math.floor(180 / dLat))
  const cLat = Math.max(-90, Math.min(90, -90 + (row + 0.5) * dLat))
  const dLon = Math.min(360, p.metres / (M_PER_DEG * Math.max(Math.cos(rad(cLat)), 1e-6)))
  const col = Math.floor((lon + 180) / dLon)
  const cLon = Math.max(-180, Math.min(180, -180 + (col + 0.5) * dLon))
  return { lat: round6(cLat), lon: round6(cLon), radius: halfDiagonal(dLat, dLon, cLat) }
}

function halfDiagonal(dLat: number, dLon: number, lat: number): number {
  const h = dLat * M_PER_DEG
  const w = dLon * M_PER_DEG * Math.cos(rad(lat))
  return Math.ceil(Math.hypot(h, w) / 2)
}

/** The side of a cell in metres (geohash: its height), to compare precisions; a place is the coarsest. */
export function cellMetres(p: Precision): number {
  if (p.kind === 'place') return Infinity
  if (p.kind === 'metres') return p.metres
  return (180 / 2 ** Math.floor((5 * p.length) / 2)) * M_PER_DEG
}

/** The finer of two precisions; null (exact) is finer than any grid. */
export function finer(a: Precision | null, b: Precision | null): Precision | null {
  if (a === null || b === null) return null
  return cellMetres(a) <= cellMetres(b) ? a : b
}
