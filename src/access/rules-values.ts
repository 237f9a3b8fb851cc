import type { Precision } from './types.js'

/*
 * The small value languages of the rules file: durations (`2h`, `7d`), instants (`2026-12-01T18:00Z`)
 * and precisions (`1km`, `500m`, `geohash 5`).
 */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 }

/** `90s`, `30m`, `2h`, `7d`, `2w` (or several: `1h30m`) → seconds; null if it is not one. */
export function parseDuration(text: string): number | null {
  const s = text.trim()
  if (!/^(\d+(\.\d+)?[smhdw])+$/.test(s)) return null
  let total = 0
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]]
  return Math.round(total)
}

export function formatDuration(seconds: number): string {
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= n && seconds % n === 0) return `${seconds / n}${u}`
  }
  return `${seconds}s`
}

/**
 * An ISO 8601 time with a zone (`2026-12-01T18:00Z`, `…T18:00:00+01:00`) → epoch ms. A time without a
 * zone is refused: whose midnight would it be?
 */
export function parseInstant(text: string): number | null {
  const s = text.trim()
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s)) return null
  const t = Date.parse(s)
  return Number.isNaN(t) ? null : t
}

export const isoMinute = (ms: number): string => new Date(ms).toISOString().replace(/:00\.000Z$/, 'Z').replace(/\.\d{3}Z$/, 'Z')

/** `1km`, `2.5km`, `500m` or `geohash 5` → a Precision; otherwise what is wrong, as a sentence. */
export function parsePrecision(raw: unknown): Precision | string {
  const hint = "say e.g. 500m, 1km, geohash 5, or place (only which of their places, or away)"
  if (typeof raw === 'number') return `${raw} has no unit; ${hint}`
  if (typeof raw !== 'string') return hint
  const s = raw.trim()
  if (s === 'place') return { kind: 'place', text: 'place' }
  const metric = /^(\d+(?:\.\d+)?)\s*(m|km)$/.exec(s)
  if (metric) {
    const metres = Number(metric[1]) * (metric[2] === 'km' ? 1000 : 1)
    if (metres < 10 || metres > 1_000_000) return `'${s}' is outside 10m … 1000km`
    return { kind: 'metres', metres, text: s.replace(/\s+/g, '') }
  }
  const gh = /^geohash\s*(\d+)$/.exec(s)
  if (gh) {
    const length = Number(gh[1])
    if (length < 1 || length > 8) return `geohash length ${length} is outside 1 … 8 (8 ≈ 20m, 5 ≈ 2.4km, 3 ≈ 78km)`
    return { kind: 'geohash', length, text: `geohash ${length}` }
  }
  return `'${s}' is not a precision; ${hint}`
}
