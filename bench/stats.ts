/*
 * Statistics for a year of minutes: one phone, a fix every minute for 2025 along a generated family
 * routine (home, school, work, shop; test/helpers/days.ts), through the hub's HTTP API.
 * The first /api/0/stats call makes and stores the 365 day summaries; the target is for the calls after
 * it, which read only those summaries: < 200 ms.
 *   npm run build && node dist/bench/stats.js
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelHistory } from '../src/store/history-level.js'
import type { HistoryRecord } from '../src/store/types.js'
import { seeded, week } from '../test/helpers/days.js'
import { percentile } from './load.js'
import { startHub } from './targets.js'

// 2024-12-30 is a Monday; 00:00 in Berlin (UTC+1), where the generated places are moved to.
const MONDAY = Date.UTC(2024, 11, 30) / 1000 - 3600
const YEAR = { from: Date.UTC(2025, 0, 1) / 1000 - 3600, to: Date.UTC(2026, 0, 1) / 1000 - 3600 }

async function seed(dataDir: string): Promise<number> {
  const h = await LevelHistory.open(join(dataDir, 'history'))
  const rnd = seeded(1)
  let n = 0
  for (let w = 0; w < 53; w++) {
    const fixes = week(MONDAY + w * 7 * 86_400, w + 1).flatMap((d) => d.fixes)
    const batch: HistoryRecord[] = []
    let k = 0
    // one fix a minute: the generated routine's position at that minute, with fresh jitter
    for (let t = MONDAY + w * 7 * 86_400; t < MONDAY + (w + 1) * 7 * 86_400; t += 60) {
      if (t < YEAR.from || t >= YEAR.to) continue
      while (k + 1 < fixes.length && fixes[k + 1].tst <= t) k++
      const f = fixes[k]
      const lat = f.lat + 0.4 + (rnd() - 0.5) * 2e-4, lon = f.lon + 8.3 + (rnd() - 0.5) * 3e-4 // Utrecht → Berlin
      batch.push({ user: 'year', device: 'phone', topic: 'owntracks/year/phone', message: { _type: 'location', tid: 'yr', lat, lon, acc: f.acc, tst: t } as never })
    }
    await h.write(batch)
    n += batch.length
  }
  await h.close()
  return n
}

const dir = mkdtempSync(join(tmpdir(), 'othub-bench-stats-'))
try {
  const data = join(dir, 'data')
  const t0 = performance.now()
  const points = await seed(data)
  console.log(`seeded ${points} fixes (a year of minutes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const hub = await startHub(data)
  const auth = 'Basic ' + Buffer.from(`${hub.admin.user}:${hub.admin.password}`).toString('base64')
  const path = '/api/0/stats?user=year&device=phone&from=2025-01-01&to=2025-12-31'
  const call = async () => {
    const s = performance.now()
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { headers: { authorization: auth } })
    const body = await res.json() as { active: unknown[]; distance: { total: number }; countries: { cc: string }[] }
    if (res.status !== 200) throw new Error(`stats answered ${res.status}`)
    return { ms: performance.now() - s, body }
  }
  const first = await call()
  console.log(`first call (makes and stores 365 day summaries): ${first.ms.toFixed(0)} ms; ${first.body.active.length} active days, ${(first.body.distance.total / 1000).toFixed(0)} km, countries ${first.body.countries.map((c) => c.cc).join(',')}`)
  const times: number[] = []
  for (let i = 0; i < 20; i++) times.push((await call()).ms)
  times.sort((a, b) => a - b)
  const p50 = percentile(times, 50), p95 = percentile(times, 95)
  console.log(`stats for a year from the day summaries: p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms (target < 200 ms): ${p95 < 200 ? 'met' : 'MISSED'}`)
  await hub.stop()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
