import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { seedHistory } from '../helpers/history.js'
import { as, createUsers } from '../helpers/users.js'
import type { HistoryRecord } from '../../src/store/types.js'
import { gpxChecker, xmlPoints } from '../helpers/formats-parse.js'

const YEAR = Date.UTC(2023, 0, 1) / 1000
const N = 365 * 24 * 60 // a year of one-minute points: 525,600

/** The year as the store gets it from a phone reporting every minute, in batches. */
function* year(batch = 5000): Generator<HistoryRecord[]> {
  for (let i = 0; i < N; i += batch) {
    const b: HistoryRecord[] = []
    for (let j = i; j < Math.min(N, i + batch); j++) {
      b.push({ user: 'jane', device: 'phone', topic: 'owntracks/jane/phone', message: { _type: 'location', tid: 'jp', lat: 40 + (j % 10_000) / 1000, lon: 2 + (j % 7000) / 1000, tst: YEAR + j * 60 } })
    }
    yield b
  }
}

// Memory use and time to first byte are measured in bench/recorder-stream.ts; here, that a year
// streams in every format and parses back whole.
describe('a year of one-minute points streams in every format', () => {
  let hub: RunningHub
  let root: string
  const q = '/api/0/locations?user=jane&device=phone&from=2023-01-01&to=2023-12-31'

  before(async () => {
    root = tempDir()
    await createUsers(join(root, 'data'), { admin: { admin: true } })
    await seedHistory(join(root, 'data'), year())
    hub = await startHub({ dataDir: join(root, 'data'), aclDir: join(root, 'acl') })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  const fetchText = async (format: string) => {
    const res = await hub.http(`${q}&format=${format}`, as('admin'))
    assert.equal(res.status, 200)
    return res.text()
  }
  /** Feeds the body to a streaming parser chunk by chunk, as it arrives. */
  const feed = async (format: string, parser: { write(s: string): void }) => {
    const res = await hub.http(`${q}&format=${format}`, as('admin'))
    assert.equal(res.status, 200)
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) parser.write(chunk)
  }

  test('json: count and data hold every point, ascending', async () => {
    const d = JSON.parse(await fetchText('json')) as { count: number; data: { tst: number }[]; status: number }
    assert.equal(d.count, N)
    assert.equal(d.data.length, N)
    assert.equal(d.data[0].tst, YEAR)
    assert.equal(d.data[N - 1].tst, YEAR + (N - 1) * 60)
    assert.ok(d.data.every((p, i) => p.tst === YEAR + i * 60))
  })

  test('geojson and linestring', async () => {
    assert.equal((JSON.parse(await fetchText('geojson')) as { features: unknown[] }).features.length, N)
    assert.equal((JSON.parse(await fetchText('linestring')) as { geometry: { coordinates: unknown[] } }).geometry.coordinates.length, N)
  })

  test('csv', async () => {
    const lines = (await fetchText('csv')).split('\n')
    assert.equal(lines.pop(), '', 'ends with a line break')
    assert.equal(lines.length, N + 1)
    assert.equal(lines[1].split(',')[0], String(YEAR))
  })

  test('gpx: valid GPX 1.1 throughout', async () => {
    const gpx = gpxChecker(false)
    await feed('gpx', gpx)
    assert.equal(gpx.end().count, N)
  })

  test('xml', async () => {
    const xml = xmlPoints(false)
    await feed('xml', xml)
    assert.equal(xml.end().count, N)
  })

  test('limit streams too: the newest 200,000 of the year', async () => {
    const d = JSON.parse(await fetchText('json&limit=200000')) as { count: number; data: { tst: number }[] }
    assert.equal(d.count, 200_000)
    assert.equal(d.data[0].tst, YEAR + (N - 200_000) * 60)
  })
})
