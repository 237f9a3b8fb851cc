import { metres } from './geo.js'
import { STAY_DEFAULTS, type Fix, type Mode, type StayOptions, type Trip, type Visit } from './types.js'

/*
 * Visits and trips from one stretch of fixes (ascending tst). A visit grows while fixes stay within
 * `radius` of its running centre; a single fix thrown out further by GPS jitter does not end it when
 * one of the next fixes comes back. A gap in the fixes inside the radius is still the same visit: a
 * phone in significant-changes mode reports nothing while it stays put. Between visits are trips.
 */
const LOOKAHEAD = 3

export function staysAndTrips(all: Fix[], o: StayOptions = STAY_DEFAULTS): { visits: Visit[]; trips: Trip[] } {
  const fixes = all.filter((f) => f.acc === undefined || f.acc <= o.maxAcc)
  const visits: (Visit & { first: number; last: number })[] = []
  let i = 0
  while (i < fixes.length) {
    let lat = fixes[i].lat, lon = fixes[i].lon, n = 1
    let last = i
    let j = i + 1
    while (j < fixes.length) {
      const f = fixes[j]
      if (metres(lat, lon, f.lat, f.lon) <= o.radius) {
        lat += (f.lat - lat) / (n + 1); lon += (f.lon - lon) / (n + 1); n++
        last = j; j++
        continue
      }
      // An outlier: skip it if the track comes back within the next few fixes.
      let back = -1
      for (let k = j + 1; k < Math.min(fixes.length, j + 1 + LOOKAHEAD); k++) {
        if (metres(lat, lon, fixes[k].lat, fixes[k].lon) <= o.radius) { back = k; break }
      }
      if (back < 0) break
      j = back
    }
    if (fixes[last].tst - fixes[i].tst >= o.minStay) {
      const prev = visits.at(-1)
      // The same place again after a short excursion of jitter: one visit, not two.
      if (prev && metres(prev.lat, prev.lon, lat, lon) <= o.radius && fixes[i].tst - prev.to < o.minStay) {
        const m = prev.fixes + n
        prev.lat += ((lat - prev.lat) * n) / m; prev.lon += ((lon - prev.lon) * n) / m
        prev.fixes = m; prev.to = fixes[last].tst; prev.last = last
      } else {
        visits.push({ lat, lon, from: fixes[i].tst, to: fixes[last].tst, fixes: n, first: i, last })
      }
      i = last + 1
    } else {
      i++
    }
  }
  const trips: Trip[] = []
  const tripOf = (a: number, b: number, start?: Visit, end?: Visit) => {
    const pts: [number, number, number][] = []
    if (start) pts.push([start.lat, start.lon, start.to])
    for (let k = a; k <= b; k++) pts.push([fixes[k].lat, fixes[k].lon, fixes[k].tst])
    if (end) pts.push([end.lat, end.lon, end.from])
    if (pts.length < 2) return
    const t = trip(pts)
    if (t.distance > o.radius) trips.push(t)
  }
  if (visits.length === 0) { tripOf(0, fixes.length - 1); return { visits: [], trips } }
  tripOf(0, visits[0].first - 1, undefined, visits[0])
  for (let v = 0; v + 1 < visits.length; v++) tripOf(visits[v].last + 1, visits[v + 1].first - 1, visits[v], visits[v + 1])
  tripOf(visits.at(-1)!.last + 1, fixes.length - 1, visits.at(-1))
  trips.sort((a, b) => a.from - b.from)
  return { visits: visits.map(({ first: _f, last: _l, ...v }) => ({ ...v, lat: round(v.lat), lon: round(v.lon) })), trips }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6

function trip(pts: [number, number, number][]): Trip {
  let distance = 0
  const speeds: number[] = []
  for (let k = 1; k < pts.length; k++) {
    const d = metres(pts[k - 1][0], pts[k - 1][1], pts[k][0], pts[k][1])
    distance += d
    const dt = pts[k][2] - pts[k - 1][2]
    // The legs from and to a visit's centre start at a fix still inside the stay: no speed of their own.
    const leg = pts.length > 3 && (k === 1 || k === pts.length - 1)
    if (dt > 0 && !leg) speeds.push((d / dt) * 3.6)
  }
  const from = pts[0][2], to = pts.at(-1)![2]
  const avgKmh = to > from ? (distance / (to - from)) * 3.6 : 0
  speeds.sort((a, b) => a - b)
  const topKmh = speeds.length ? speeds[Math.min(speeds.length - 1, Math.floor(speeds.length * 0.85))] : avgKmh
  return {
    from, to, distance: Math.round(distance), mode: modeOf(avgKmh, topKmh),
    avgKmh: Math.round(avgKmh * 10) / 10, topKmh: Math.round(topKmh * 10) / 10,
    fixes: pts.length, path: pts.map(([la, lo]) => [round(la), round(lo)]),
  }
}

/** A guess from speed alone: walking pace, cycling, road, rail, air. */
export function modeOf(avgKmh: number, topKmh: number): Mode {
  if (avgKmh > 200 || topKmh > 300) return 'plane'
  if (topKmh > 140) return 'train'
  if (topKmh > 27) return 'car'
  if (topKmh > 8) return 'bike'
  return 'walk'
}
