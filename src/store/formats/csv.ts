import type { Format, Point, Track } from './types.js'

/** Columns when the caller names none: when, who, where, and the usual sensor fields. */
export const CSV_COLUMNS = ['tst', 'isotst', 'tid', 'lat', 'lon', 'acc', 'alt', 'vel', 'cog', 'batt', 'conn', 't']

/** RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes. */
function cell(v: unknown): string {
  if (v === undefined || v === null) return ''
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

const columns = (t: Track) => t.fields ?? CSV_COLUMNS

/** A header row, then one row per point; `fields=` picks and orders the columns. */
export const csv: Format = {
  contentType: 'text/csv; charset=utf-8',
  open: (t) => columns(t).map(cell).join(',') + '\n',
  point: (p: Point, _n, t) => columns(t).map((c) => cell(p[c])).join(',') + '\n',
  close: () => '',
}
