import type { Span } from '../places/types.js'

export interface LocalTime { date: string; day: number; minutes: number }

const formats = new Map<string, Intl.DateTimeFormat>()
const DAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 }

/** The wall clock in `zone` at `ms`: date (YYYY-MM-DD), weekday (0 = Sunday), minutes after midnight. */
export function localTime(ms: number, zone: string): LocalTime {
  let f = formats.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short' })
    formats.set(zone, f)
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]))
  return { date: `${p.year}-${p.month}-${p.day}`, day: DAYS[p.weekday] ?? 0, minutes: Number(p.hour) * 60 + Number(p.minute) }
}

/** Whether `minutes` falls in the span; a span may run over midnight (22:00-07:00). */
export function within(span: Span, minutes: number): boolean {
  return span.from <= span.to ? minutes >= span.from && minutes < span.to : minutes >= span.from || minutes < span.to
}

export const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
