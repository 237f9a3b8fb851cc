import ngeohash from 'ngeohash'
import type { GridPrecision, Precision } from './types.js'

/*
 * Reduced precision: the receiver gets the centre of the grid cell the fix lies in, `acc` raised to the
 * cell's half-diagonal (the true fix is somewhere in the cell), and the fields that would give the
 * place away anyway removed. The grid is fixed (not centred on the fix), so repeated fixes inside one
 * cell all land on the same point and averaging them reveals nothing.
 */

/** Fields that name or pin down a place more precisely than the coordinates. */
export const REVEALING = ['SSID', 'BSSID', 'inregions', 'inrids', 'addr', 'poi', 'desc', 'rid'] as const

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

/** A copy of an OwnTracks record as seen through `p`; records without coordinates only lose the revealing fields. */
export function blur(m: Record<string, unknown>, p: GridPrecision): Record<string, unknown> {
  const out: Record<string, unknown> = { ...m }
  for (const f of REVEALING) delete out[f]
  if (typeof m.lat === 'number' && typeof m.lon === 'number' && Number.isFinite(m.lat) && Number.isFinite(m.lon)) {
    const c = snap(m.lat, m.lon, p)
    out.lat = c.lat
    out.lon = c.lon
    out.acc = Math.max(typeof m.acc === 'number' ? m.acc : 0, c.radius)
  }
  return out
}

/**
 * The payload of a device-topic message as a blurred receiver may get it, or null when it must not
 * reach them: a location is blurred; a will or card carries no place and passes; anything the hub
 * cannot read (encrypted, not JSON, other types) could hide exact coordinates and is withheld.
 */
export function blurPayload(payload: Buffer, p: GridPrecision): Buffer | null {
  if (payload.length === 0) return payload // clears a retained message: nothing to hide
  let m: unknown
  try { m = JSON.parse(payload.toString('utf8')) } catch { return null }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return null
  const type = (m as { _type?: unknown })._type
  if (type === 'lwt' || type === 'card') return payload
  if (type !== 'location') return null
  return Buffer.from(JSON.stringify(blur(m as Record<string, unknown>, p)))
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
