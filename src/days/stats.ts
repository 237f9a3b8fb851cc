import { metres } from './geo.js'
import type { Day } from './types.js'

export interface Stats {
  from?: string
  to?: string
  /** metres per period: YYYY-MM-DD, YYYY-Www (ISO week), YYYY-MM, YYYY */
  distance: { day: Record<string, number>; week: Record<string, number>; month: Record<string, number>; year: Record<string, number>; total: number }
  /** first date each was seen */
  countries: { cc: string; first: string; days: number }[]
  towns: { name: string; first: string; days: number }[]
  /** seconds at the home place and away, over the days with fixes */
  home?: { lat: number; lon: number; locality?: string; seconds: number }
  away: number
  /** one entry per day with fixes: the calendar heat map */
  active: { date: string; fixes: number; distance: number }[]
}

const HOME_RADIUS = 200

/** ISO 8601 week of a date, as YYYY-Www. */
export function isoWeek(date: string): string {
  const d = new Date(date + 'T00:00:00Z')
  const day = (d.getUTCDay() + 6) % 7
  d.setUTCDate(d.getUTCDate() - day + 3)
  const y = d.getUTCFullYear()
  // d is now the Thursday of the week, which decides the week's year
  const week = 1 + Math.floor((d.getTime() - Date.UTC(y, 0, 1)) / 86_400_000 / 7)
  return `${y}-W${String(week).padStart(2, '0')}`
}

/**
 * Statistics from day summaries only: a year is 365 stored days, never the fixes. Home is the place
 * with the most time in visits (a place from the sharing rules' places can take its role when given).
 */
export function statistics(days: Day[], home?: { lat: number; lon: number; locality?: string }): Stats {
  const dist: Stats['distance'] = { day: {}, week: {}, month: {}, year: {}, total: 0 }
  const countries = new Map<string, { first: string; days: number }>()
  const towns = new Map<string, { first: string; days: number }>()
  const active: Stats['active'] = []
  const add = (r: Record<string, number>, k: string, v: number) => { r[k] = (r[k] ?? 0) + v }
  for (const { summary: s } of days) {
    if (s.fixes === 0) continue
    active.push({ date: s.date, fixes: s.fixes, distance: s.distance })
    add(dist.day, s.date, s.distance); add(dist.week, isoWeek(s.date), s.distance)
    add(dist.month, s.date.slice(0, 7), s.distance); add(dist.year, s.date.slice(0, 4), s.distance)
    dist.total += s.distance
    for (const cc of s.countries) { const c = countries.get(cc); if (c) c.days++; else countries.set(cc, { first: s.date, days: 1 }) }
    for (const t of s.towns) { const c = towns.get(t); if (c) c.days++; else towns.set(t, { first: s.date, days: 1 }) }
  }
  const where = home ?? mostVisited(days)
  let homeS = 0, tracked = 0
  for (const d of days) {
    if (d.summary.fixes === 0 || d.summary.first === undefined || d.summary.last === undefined) continue
    tracked += d.summary.last - d.summary.first
    if (where) for (const v of d.visits) if (metres(v.lat, v.lon, where.lat, where.lon) <= HOME_RADIUS) homeS += v.to - v.from
  }
  return {
    from: active[0]?.date, to: active.at(-1)?.date, distance: dist,
    countries: [...countries].map(([cc, v]) => ({ cc, ...v })),
    towns: [...towns].map(([name, v]) => ({ name, ...v })),
    home: where && { ...where, seconds: homeS }, away: Math.max(0, tracked - homeS), active,
  }
}

/** The place of the visits that add up to the most time (visits within HOME_RADIUS are one place). */
function mostVisited(days: Day[]): { lat: number; lon: number; locality?: string } | undefined {
  const places: { lat: number; lon: number; locality?: string; s: number }[] = []
  for (const d of days) for (const v of d.visits) {
    const p = places.find((x) => metres(x.lat, x.lon, v.lat, v.lon) <= HOME_RADIUS)
    if (p) p.s += v.to - v.from
    else places.push({ lat: v.lat, lon: v.lon, locality: v.locality, s: v.to - v.from })
  }
  const best = places.sort((a, b) => b.s - a.s)[0]
  return best && { lat: best.lat, lon: best.lon, locality: best.locality }
}
