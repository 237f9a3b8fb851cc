import { loadavg } from 'node:os'
import { join } from 'node:path'
import { LevelHistory } from '../src/store/history-level.js'
import type { HistoryRecord } from '../src/store/types.js'
import { percentile } from './load.js'
import { startHub, usage, type Target } from './targets.js'

const YEAR_START = Date.UTC(2025, 0, 1) / 1000
const MINUTES = 365 * 24 * 60

/**
 * Writes the history the targets are about, straight into the database (as the hub itself would
 * store it): one device with a point every minute for a year, and 1,000 devices with a last location.
 */
export async function seed(dataDir: string, log: (s: string) => void): Promise<void> {
  const h = await LevelHistory.open(join(dataDir, 'history'))
  const loc = (tst: number, i: number) => ({ _type: 'location', tid: 'yr', lat: 52.5 + (i % 1000) / 1e4, lon: 13.4 + (i % 777) / 1e4, alt: 40, acc: 10, batt: 50 + (i % 50), bs: 1, conn: 'm', vel: i % 30, tst })
  const t0 = performance.now()
  for (let i = 0; i < MINUTES; i += 5000) {
    const batch: HistoryRecord[] = []
    for (let k = i; k < Math.min(MINUTES, i + 5000); k++) batch.push({ user: 'year', device: 'phone', topic: 'owntracks/year/phone', message: loc(YEAR_START + k * 60, k) as never })
    await h.write(batch)
  }
  const devices: HistoryRecord[] = Array.from({ length: 1000 }, (_, i) => ({ user: `fam${i % 50}`, device: `dev${i}`, topic: `owntracks/fam${i % 50}/dev${i}`, message: loc(YEAR_START + 365 * 86400 - i, i) as never }))
  await h.write(devices)
  await h.close()
  log(`seeded ${MINUTES} points and 1,000 devices in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

export interface YearResult { seconds: number; points: number; perS: number; peakRssMb: number; format: string; load: number }

export interface HistoryResult {
  startupMs: number
  load: number
  dayMs: { p50: number; p95: number; points: number }
  years: YearResult[]
  lastMs: { p50: number; p95: number; devices: number }
  /** The same with the hub before a change (run.ts --before). */
  before?: HistoryResult
}

async function timed(t: Target, path: string): Promise<{ ms: number; body: string }> {
  const auth = 'Basic ' + Buffer.from(`${t.admin.user}:${t.admin.password}`).toString('base64')
  const t0 = performance.now()
  const res = await fetch(`http://127.0.0.1:${t.httpPort}${path}`, { headers: { authorization: auth } })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`)
  return { ms: performance.now() - t0, body }
}

async function repeat(t: Target, path: string, n: number): Promise<{ p50: number; p95: number; body: string }> {
  const ms: number[] = []
  let body = ''
  for (let i = 0; i < n; i++) ({ ms: ms[i], body } = await timed(t, path))
  ms.sort((a, b) => a - b)
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), body }
}

/** The year in one format, from a hub started for it alone, so its peak RSS is that query's. */
async function year(dataDir: string, format: 'json' | 'geojson', nodeArgs: string[], cli?: string): Promise<YearResult> {
  const t = await startHub(dataDir, [], nodeArgs, { cli })
  try {
    await timed(t, '/api/0/version')
    const r = await timed(t, `/api/0/locations?user=year&device=phone&from=2025-01-01&to=2025-12-31&format=${format}`)
    const body = JSON.parse(r.body) as { features?: unknown[]; data?: unknown[]; count?: number }
    const points = format === 'geojson' ? body.features!.length : body.count ?? body.data!.length
    return { seconds: r.ms / 1000, points, perS: points / (r.ms / 1000), peakRssMb: usage(t.proc.pid!).peakKb / 1024, format, load: loadavg()[0] }
  } finally {
    await t.stop()
  }
}

/** Starts the hub on the seeded data (start-up time), then the day, /last, and the year as JSON and as GeoJSON. */
export async function historyTargets(dataDir: string, nodeArgs: string[] = [], cli?: string): Promise<HistoryResult> {
  const t = await startHub(dataDir, [], nodeArgs, { cli })
  let r: Omit<HistoryResult, 'years'>
  try {
    await timed(t, '/api/0/version')
    const day = await repeat(t, '/api/0/locations?user=year&device=phone&from=2025-06-01&to=2025-06-01', 20)
    const last = await repeat(t, '/api/0/last', 20)
    r = {
      startupMs: t.startupMs, load: loadavg()[0],
      dayMs: { p50: day.p50, p95: day.p95, points: (JSON.parse(day.body) as { count: number }).count },
      lastMs: { p50: last.p50, p95: last.p95, devices: (JSON.parse(last.body) as unknown[]).length },
    }
  } finally {
    await t.stop()
  }
  return { ...r, years: [await year(dataDir, 'json', nodeArgs, cli), await year(dataDir, 'geojson', nodeArgs, cli)] }
}
