import type { Shape } from './types.js'

const R = 6_371_000
const rad = (d: number) => (d * Math.PI) / 180

/** Great-circle distance in metres. */
export function distance(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const dLat = rad(bLat - aLat)
  const dLon = rad(bLon - aLon)
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(aLat)) * Math.cos(rad(bLat)) * Math.sin(dLon / 2) ** 2
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Local flat projection around `lat0`: metres east and north; fine for places a few km across. */
function xy(lat: number, lon: number, lat0: number, lon0: number): [number, number] {
  return [rad(lon - lon0) * R * Math.cos(rad(lat0)), rad(lat - lat0) * R]
}

function insidePolygon(x: number, y: number, pts: [number, number][]): boolean {
  let inside = false
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i]
    const [xj, yj] = pts[j]
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

function segmentDistance(x: number, y: number, a: [number, number], b: [number, number]): number {
  const [ax, ay] = a
  const [bx, by] = b
  const l2 = (bx - ax) ** 2 + (by - ay) ** 2
  const t = l2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / l2))
  return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)))
}

/**
 * How far outside the shape a point is in metres: ≤ 0 inside (a circle: minus the distance to its
 * edge; a polygon: 0 anywhere inside), > 0 outside.
 */
export function outside(shape: Shape, lat: number, lon: number): number {
  if (shape.kind === 'circle') return distance(shape.lat, shape.lon, lat, lon) - shape.radius
  const c = centre(shape)
  const pts = shape.points.map(([la, lo]) => xy(la, lo, c.lat, c.lon))
  const [x, y] = xy(lat, lon, c.lat, c.lon)
  if (insidePolygon(x, y, pts)) return 0
  let best = Infinity
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) best = Math.min(best, segmentDistance(x, y, pts[j], pts[i]))
  return best
}

/** The centre: a circle's, a polygon's mean corner. */
export function centre(shape: Shape): { lat: number; lon: number } {
  if (shape.kind === 'circle') return { lat: shape.lat, lon: shape.lon }
  const n = shape.points.length
  return { lat: shape.points.reduce((s, p) => s + p[0], 0) / n, lon: shape.points.reduce((s, p) => s + p[1], 0) / n }
}

/** The radius of the smallest circle around the centre holding the shape: what a phone's region gets. */
export function enclosingRadius(shape: Shape): number {
  if (shape.kind === 'circle') return shape.radius
  const c = centre(shape)
  return Math.ceil(Math.max(...shape.points.map(([la, lo]) => distance(c.lat, c.lon, la, lo))))
}

/**
 * The size a fix's accuracy is compared with: a circle's radius; for a polygon, the distance from its
 * centre to the nearest edge (a fix less sure than that cannot tell inside from outside).
 */
export function size(shape: Shape): number {
  if (shape.kind === 'circle') return shape.radius
  const c = centre(shape)
  return Math.max(1, nearestEdge(shape, c))
}

function nearestEdge(shape: Extract<Shape, { kind: 'polygon' }>, c: { lat: number; lon: number }): number {
  const pts = shape.points.map(([la, lo]) => xy(la, lo, c.lat, c.lon))
  let best = Infinity
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) best = Math.min(best, segmentDistance(0, 0, pts[j], pts[i]))
  return best
}
