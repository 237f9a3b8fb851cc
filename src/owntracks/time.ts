/** A time in none of the Recorder's forms; the message names the parameter and lists the forms. */
export class TimeError extends Error {}

const FORMS = [
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z?$/,
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})Z?$/,
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2})Z?$/,
  /^(\d{4})-(\d{2})-(\d{2})$/,
  /^(\d{4})-(\d{2})$/,
]

/**
 * The Recorder's time forms, all UTC: YYYY-MM-DDTHH:MM:SS, …THH:MM, …THH, YYYY-MM-DD, YYYY-MM
 * (optionally with Z), or epoch seconds. `end` rounds a partial form up to its last second, so
 * `to=2024-05` means the whole of May, as the Recorder reads it.
 */
export function parseTime(name: string, raw: string, end: boolean): number {
  const s = raw.trim()
  if (/^\d{1,11}$/.test(s)) return Number(s)
  for (const re of FORMS) {
    const m = re.exec(s)
    if (!m) continue
    const [y, mo, d = '01', h = '00', mi = '00', se = '00'] = m.slice(1)
    const t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +se)
    const check = new Date(t)
    if (Number.isNaN(t) || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +se > 59) break
    if (!end) return t / 1000
    const given = m.slice(1).filter((x) => x !== undefined).length
    if (given === 2) return Date.UTC(+y, +mo, 1) / 1000 - 1 // the whole month
    return t / 1000 + ((({ 3: 86400, 4: 3600, 5: 60 }) as Record<number, number>)[given] ?? 1) - 1
  }
  throw new TimeError(`parameter '${name}': '${raw}' is not a time; use YYYY-MM-DDTHH:MM:SS, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH, YYYY-MM-DD, YYYY-MM (UTC) or epoch seconds`)
}
