/**
 * How `locations` streams a year of one-minute points (525,600) in each format: time to the first
 * byte, time to the last, size, and the hub's memory while it answers, sampled every 20 ms from
 * /proc/<pid>/status: RssAnon (the process's own memory: the JS heap and buffers) separately from
 * RssFile (LevelDB's table files, which it maps into memory; the kernel may drop those pages).
 * Run: npm run build && node dist/bench/recorder-stream.js. Results go in bench/recorder-stream.md.
 */
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startHub, tempDir } from '../test/helpers/hub.js'
import { seedHistory } from '../test/helpers/history.js'
import { as, createUsers } from '../test/helpers/users.js'
import type { HistoryRecord } from '../src/store/types.js'

const YEAR = Date.UTC(2023, 0, 1) / 1000
const N = 365 * 24 * 60

function* year(batch = 5000): Generator<HistoryRecord[]> {
  for (let i = 0; i < N; i += batch) {
    const b: HistoryRecord[] = []
    for (let j = i; j < Math.min(N, i + batch); j++) {
      b.push({ user: 'jane', device: 'phone', topic: 'owntracks/jane/phone', message: { _type: 'location', tid: 'jp', lat: 40 + (j % 10_000) / 1000, lon: 2 + (j % 7000) / 1000, tst: YEAR + j * 60, acc: 12, alt: 35, batt: 80, conn: 'w' } })
    }
    yield b
  }
}

const kb = (line: string | undefined) => Number(/(\d+) kB/.exec(line ?? '')?.[1] ?? NaN)
const status = (pid: number, key: string) => kb(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(key)))
const mb = (k: number) => `${(k / 1024).toFixed(0)} MB`

/** The largest RssAnon and RssFile seen while `run` runs. */
async function peaks<T>(pid: number, run: () => Promise<T>): Promise<{ anon: number; file: number; result: T }> {
  let anon = status(pid, 'RssAnon')
  let file = status(pid, 'RssFile')
  const timer = setInterval(() => { anon = Math.max(anon, status(pid, 'RssAnon')); file = Math.max(file, status(pid, 'RssFile')) }, 20)
  try {
    const result = await run()
    return { anon, file, result }
  } finally { clearInterval(timer) }
}

async function main(): Promise<void> {
  const root = tempDir('othub-bench-')
  await createUsers(join(root, 'data'), { admin: { admin: true } })
  const t = Date.now()
  await seedHistory(join(root, 'data'), year())
  const seeded = Date.now() - t
  const hub = await startHub({ dataDir: join(root, 'data'), aclDir: join(root, 'acl') })
  const pid = hub.proc.pid!
  const rows: string[] = []
  try {
    const idle = `${mb(status(pid, 'RssAnon'))} anonymous + ${mb(status(pid, 'RssFile'))} file-backed`
    for (const range of ['to=2023-01-31', 'to=2023-06-30', 'to=2023-12-31']) {
      for (const format of ['json', 'geojson', 'linestring', 'csv', 'gpx', 'xml']) {
        if (range !== 'to=2023-12-31' && format !== 'json') continue
        const t0 = performance.now()
        const { anon, file, result: [first, bytes, total] } = await peaks(pid, async () => {
          const res = await hub.http(`/api/0/locations?user=jane&device=phone&from=2023-01-01&${range}&format=${format}`, as('admin'))
          let first = 0
          let bytes = 0
          for await (const chunk of res.body!) {
            if (!first) first = performance.now() - t0
            bytes += chunk.length
          }
          return [first, bytes, performance.now() - t0]
        })
        rows.push(`| ${format} | ${range.replace('to=', '2023-01-01 … ')} | ${first.toFixed(1)} ms | ${(total / 1000).toFixed(1)} s | ${(bytes / 1e6).toFixed(0)} MB | ${mb(anon)} | ${mb(file)} |`)
      }
    }
    const out = [
      `Seeding ${N} points through LevelHistory.write in batches of 5000: ${(seeded / 1000).toFixed(1)} s. Hub memory after start: ${idle}.`,
      '',
      '| format | range | first byte | whole answer | size | hub RssAnon peak | hub RssFile peak |',
      '|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n')
    console.log(out)
  } finally {
    await hub.stop()
    rmSync(root, { recursive: true, force: true })
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
