import { Agent, get } from 'node:http'
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

/**
 * GETs `path` and reads the answer as it streams, keeping only how often `mark` occurs in it, its last
 * bytes, and all of it when it is small (under 1 MB). The harness must not be what limits a year of points: res.text() and a JSON.parse of
 * the year's 145 MB took it longer than the hub took to serve them.
 */
interface Answer { ms: number; bytes: number; marks: number; tail: string; body?: string }

function timed(t: Target, path: string, mark?: string): Promise<Answer> {
  const auth = 'Basic ' + Buffer.from(`${t.admin.user}:${t.admin.password}`).toString('base64')
  const m = mark === undefined ? undefined : Buffer.from(mark)
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: t.httpPort, path, headers: { authorization: auth }, agent }, (res) => {
      let bytes = 0, marks = 0
      let last: Buffer = Buffer.alloc(0)
      let all: Buffer[] | undefined = []
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (m) {
          // a mark may straddle two chunks: search the seam too
          const seam = Buffer.concat([last.subarray(Math.max(0, last.length - m.length + 1)), chunk.subarray(0, m.length - 1)])
          for (let at = seam.indexOf(m); at >= 0; at = seam.indexOf(m, at + 1)) marks++
          for (let at = chunk.indexOf(m); at >= 0; at = chunk.indexOf(m, at + 1)) marks++
        }
        last = chunk.length >= 4096 ? chunk : Buffer.concat([last, chunk]).subarray(-4096)
        if (all && bytes < 1e6) all.push(chunk); else all = undefined
      })
      res.on('end', () => {
        const ms = performance.now() - t0
        const tail = last.subarray(-4096).toString('utf8')
        if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${tail.slice(0, 200)}`))
        else resolve({ ms, bytes, marks, tail, body: all && Buffer.concat(all).toString('utf8') })
      })
      res.on('error', reject)
    }).on('error', reject)
  })
}
const agent = new Agent({ keepAlive: true })

/** How many points an answer held: the Recorder's JSON says so at its end, GeoJSON has one Feature per point. */
function pointsOf(format: 'json' | 'geojson', r: Answer): number {
  if (format === 'geojson') return r.marks
  const count = /"count":(\d+),"status":200\}$/.exec(r.tail)
  if (!count) throw new Error(`a locations answer that does not end in its count: …${r.tail.slice(-200)}`)
  return Number(count[1])
}

async function repeat(t: Target, path: string, n: number): Promise<Answer & { p50: number; p95: number }> {
  const ms: number[] = []
  let r: Answer | undefined
  for (let i = 0; i < n; i++) { r = await timed(t, path); ms[i] = r.ms }
  ms.sort((a, b) => a - b)
  return { ...r!, p50: percentile(ms, 50), p95: percentile(ms, 95) }
}

/** The year in one format, from a hub started for it alone, so its peak RSS is that query's (and the place names'). */
async function year(dataDir: string, format: 'json' | 'geojson', nodeArgs: string[], cli?: string): Promise<YearResult> {
  const t = await startHub(dataDir, [], nodeArgs, { cli })
  try {
    await namesLoaded(t)
    const r = await timed(t, `/api/0/locations?user=year&device=phone&from=2025-01-01&to=2025-12-31&format=${format}`, FEATURE)
    const points = pointsOf(format, r)
    return { seconds: r.ms / 1000, points, perS: points / (r.ms / 1000), peakRssMb: usage(t.proc.pid!).peakKb / 1024, format, load: loadavg()[0] }
  } finally {
    await t.stop()
  }
}

/**
 * Waits until the hub has its offline place names loaded (/api/0/q names a town): the towns are read
 * once, on first use, in slices between other work (1–2 s of the main thread), so without this the
 * first answers would measure that load, and the year's first points would lack their town.
 */
async function namesLoaded(t: Target): Promise<void> {
  for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
    const r = await timed(t, '/api/0/q?lat=52.52&lon=13.40')
    if ((JSON.parse(r.body!) as { locality?: string }).locality) return
  }
  throw new Error('the hub did not load its place names within 60 s')
}

/** How each GeoJSON point begins (a string value holding it would have its quotes escaped). */
const FEATURE = '{"type":"Feature",'

/**
 * A day is asked this often and its p50 taken: a hub answers many, and its first few after the start
 * run before V8 has compiled the read path (120–170 ms, then 20–30 ms for a dozen more).
 */
const DAY_REPEATS = 50

/** Starts the hub on the seeded data (start-up time), then, once its place names are loaded, the day, /last, and the year as JSON and as GeoJSON. */
export async function historyTargets(dataDir: string, nodeArgs: string[] = [], cli?: string): Promise<HistoryResult> {
  const t = await startHub(dataDir, [], nodeArgs, { cli })
  let r: Omit<HistoryResult, 'years'>
  try {
    await namesLoaded(t)
    const day = await repeat(t, '/api/0/locations?user=year&device=phone&from=2025-06-01&to=2025-06-01', DAY_REPEATS)
    const last = await repeat(t, '/api/0/last', 20)
    r = {
      startupMs: t.startupMs, load: loadavg()[0],
      dayMs: { p50: day.p50, p95: day.p95, points: pointsOf('json', day) },
      lastMs: { p50: last.p50, p95: last.p95, devices: (JSON.parse(last.body!) as unknown[]).length },
    }
  } finally {
    await t.stop()
  }
  return { ...r, years: [await year(dataDir, 'json', nodeArgs, cli), await year(dataDir, 'geojson', nodeArgs, cli)] }
}
