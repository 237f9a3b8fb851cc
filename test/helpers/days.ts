/*
 * A realistic week for the day computations: home, school run, work, shop, as a phone in move mode
 * would report it (a fix a minute while moving, every few minutes while staying), with GPS jitter
 * (10–40 m, now and then a jump of up to 150 m), a red light on the way, and a gap in the fixes.
 */
export interface Place { name: string; lat: number; lon: number }
export interface Stop { place: Place; from: number; to: number }
export interface Fix { tst: number; lat: number; lon: number; acc: number; vel?: number }

// Around Utrecht: home, the school 1.2 km off, work 6 km off, a shop near home.
export const HOME: Place = { name: 'home', lat: 52.0907, lon: 5.1214 }
export const SCHOOL: Place = { name: 'school', lat: 52.0989, lon: 5.1305 }
export const WORK: Place = { name: 'work', lat: 52.0850, lon: 5.1990 }
export const SHOP: Place = { name: 'shop', lat: 52.0870, lon: 5.1120 }

/** A fixed-seed random, so a failure can be replayed. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

const M_LAT = 111_320
const offset = (p: { lat: number; lon: number }, north: number, east: number) => ({
  lat: p.lat + north / M_LAT, lon: p.lon + east / (M_LAT * Math.cos((p.lat * Math.PI) / 180)),
})

function gauss(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd())
}

export interface GeneratedDay { stops: Stop[]; fixes: Fix[] }

/**
 * One weekday starting at `midnight` (epoch s): home until 07:45, walk to school (08:00–08:06), bike to
 * work (08:25–16:30), drive to the shop (16:40–17:00), walk home (from 17:10). On `gap` days the phone
 * sends nothing from 11:00 to 13:30 (at work: it is still the same visit).
 */
export function weekday(midnight: number, rnd: () => number, opts: { gap?: boolean } = {}): GeneratedDay {
  const h = (x: number) => midnight + Math.round(x * 3600)
  const stops: Stop[] = [
    { place: HOME, from: h(0), to: h(7.75) },
    { place: SCHOOL, from: h(8), to: h(8.1) },
    { place: WORK, from: h(8 + 25 / 60), to: h(16.5) },
    { place: SHOP, from: h(16 + 40 / 60), to: h(17) },
    { place: HOME, from: h(17 + 10 / 60), to: h(23 + 59 / 60) },
  ]
  const fixes: Fix[] = []
  const jitter = (p: Place, tst: number) => {
    const big = rnd() < 0.03
    const sd = big ? 150 : 10 + rnd() * 30
    const q = offset(p, gauss(rnd) * sd * 0.5, gauss(rnd) * sd * 0.5)
    fixes.push({ tst, ...q, acc: Math.round(big ? 150 : sd) })
  }
  for (let i = 0; i < stops.length; i++) {
    const s = stops[i]
    // in move mode a fix a minute; a long stay at home or work in significant mode: every few minutes
    const long = s.to - s.from > 3600
    for (let t = s.from; t <= s.to; t += long ? 120 + Math.floor(rnd() * 180) : 50 + Math.floor(rnd() * 20)) {
      if (opts.gap && t > h(11) && t < h(13.5)) continue
      jitter(s.place, t)
    }
    const next = stops[i + 1]
    if (!next) break
    // the way: a straight line, a fix a minute, with a two-minute red light halfway
    const pause = 120
    const moving = next.from - s.to - pause
    const steps = Math.max(2, Math.floor(moving / 60))
    for (let k = 1; k < steps; k++) {
      const f = k / steps
      const waited = k > steps / 2 ? pause : 0
      const tst = s.to + Math.round(f * moving) + waited
      const base = { lat: s.place.lat + (next.place.lat - s.place.lat) * f, lon: s.place.lon + (next.place.lon - s.place.lon) * f }
      const q = offset(base, gauss(rnd) * 8, gauss(rnd) * 8)
      fixes.push({ tst, ...q, acc: 10 })
      if (k === Math.floor(steps / 2)) for (const w of [40, 80, 120]) fixes.push({ tst: tst + w, ...offset(q, gauss(rnd) * 5, gauss(rnd) * 5), acc: 10 })
    }
  }
  fixes.sort((a, b) => a.tst - b.tst)
  return { stops, fixes }
}

/** Seven days from `monday` (epoch s, midnight): weekdays with the Wednesday's gap; the weekend at home. */
export function week(monday: number, seed = 7): GeneratedDay[] {
  const rnd = seeded(seed)
  return Array.from({ length: 7 }, (_, d) => {
    const midnight = monday + d * 86_400
    if (d < 5) return weekday(midnight, rnd, { gap: d === 2 })
    const fixes: Fix[] = []
    for (let t = midnight; t < midnight + 86_400; t += 600) fixes.push({ tst: t, ...offset(HOME, gauss(rnd) * 15, gauss(rnd) * 15), acc: 20 })
    return { stops: [{ place: HOME, from: midnight, to: midnight + 86_340 }], fixes }
  })
}
