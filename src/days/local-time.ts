/*
 * Calendar days in a time zone, with the zone data Node ships (Intl): no tz database of our own.
 */
const dateFmt = new Map<string, Intl.DateTimeFormat>()
const partFmt = new Map<string, Intl.DateTimeFormat>()

/** Zones Node knew when asked: at most the IANA list, so it cannot grow without bound. */
const known = new Set<string>()

/**
 * Whether Node knows the IANA zone. Making a DateTimeFormat costs tens of µs and every day summary asks,
 * so a yes is remembered; a no (any string a request may carry) is not, to keep the set bounded.
 */
export function knownZone(tz: string): boolean {
  if (known.has(tz)) return true
  try { new Intl.DateTimeFormat('en', { timeZone: tz }) } catch { return false }
  known.add(tz)
  return true
}

/** YYYY-MM-DD of `tst` (epoch s) in `tz`. */
export function localDate(tst: number, tz: string): string {
  let f = dateFmt.get(tz)
  if (!f) { f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }); dateFmt.set(tz, f) }
  return f.format(new Date(tst * 1000))
}

/** Seconds `tz` is ahead of UTC at `tst`. */
export function zoneOffset(tst: number, tz: string): number {
  let f = partFmt.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
    partFmt.set(tz, f)
  }
  const p = Object.fromEntries(f.formatToParts(new Date(tst * 1000)).map((x) => [x.type, Number(x.value)]))
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) / 1000 - Math.floor(tst)
}

/** Epoch s of 00:00 on `date` (YYYY-MM-DD) in `tz`; the day ends where the next one starts. */
export function dayStart(date: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number)
  const utc = Date.UTC(y, m - 1, d) / 1000
  let t = utc - zoneOffset(utc, tz)
  t = utc - zoneOffset(t, tz) // again, in case a DST change lies between
  return t
}

/** The date after `date`. */
export function nextDate(date: string, by = 1): string {
  const [y, m, d] = date.split('-').map(Number)
  return new Date(Date.UTC(y, m - 1, d + by)).toISOString().slice(0, 10)
}

export const isDate = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z')) && new Date(s + 'T00:00:00Z').toISOString().startsWith(s)
