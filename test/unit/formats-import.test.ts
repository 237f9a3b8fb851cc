import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tempDir } from '../helpers/hub.js'
import { readGpx } from '../../src/store/gpx-reader.js'
import { ImportError, listRecorderStore, parseRecLine, readRecorderStore, type StoreItem } from '../../src/store/recorder-store.js'
import { writeRecorderStore } from '../helpers/recorder-store.js'

const tmp = tempDir('othub-readers-')
after(() => rmSync(tmp, { recursive: true, force: true }))

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('reading an OwnTracks Recorder store', () => {
  test('a .rec line: ISO time, relative topic padded to 18 characters, payload', () => {
    const line = '2015-08-24T08:40:01Z\t*                 \t{"_type":"location","lat":1,"lon":2,"tst":1440405601}'
    assert.deepEqual(parseRecLine(line), { at: 1440405601, json: '{"_type":"location","lat":1,"lon":2,"tst":1440405601}' })
    assert.deepEqual(parseRecLine('2015-08-24T08:40:01Z\t*                 \thello world'), { skip: 'not JSON' })
    assert.match((parseRecLine('garbage') as { skip: string }).skip, /not a \.rec line/)
    assert.match((parseRecLine('yesterday\t*\t{}') as { skip: string }).skip, /no ISO time/)
  })

  test('every kind of file becomes the record MQTT ingestion would have stored, or a reason', async () => {
    const g = writeRecorderStore(join(tmp, 'store'), 20)
    const files = listRecorderStore(g.dir)
    assert.deepEqual([...new Set(files.map((f) => f.kind))], ['rec', 'last', 'card', 'waypoint', 'waypoints'])
    assert.ok(files.every((f) => !/ghash|config|monitor/.test(f.name)), 'geo cache, phone configurations and monitor are not read')
    let progressed = 0
    const items: StoreItem[] = await all(readRecorderStore(files, 'owntracks', (n) => { progressed = n }))
    assert.equal(progressed, files.reduce((a, f) => a + f.size, 0))
    const kept = items.filter((i) => !('skip' in i)) as Exclude<StoreItem, { skip: string }>[]
    const byType = (t: string) => kept.filter((r) => r.message._type === t)
    assert.equal(byType('location').length, 60 + 3, 'rec/ locations and the three last/ files')
    assert.equal(byType('transition').length, g.transitions)
    assert.equal(byType('lwt').length, 3)
    assert.deepEqual(byType('card').map((r) => `${r.user}/${r.device}`).sort(), ['fred/phone', 'jane/phone', 'jane/tablet'])
    assert.equal(byType('waypoint').length, 1)
    assert.equal(byType('waypoints').length, 1)
    assert.deepEqual(byType('transition').find((r) => r.user === 'jane')?.topic, 'owntracks/jane/phone/event')
    // what the Recorder added to last/ and waypoints/ is not part of the message
    const last = kept.find((r) => r.message._type === 'location' && r.message.topic !== undefined)
    assert.equal(last, undefined)
    assert.equal(byType('waypoint')[0].message.username, undefined)
    // messages without a tst of their own are keyed by the file's time, the same on every run
    assert.deepEqual(byType('card').map((r) => r.at), [1717200000, 1717200000, 1717200000])
    const skipped = items.filter((i) => 'skip' in i) as { skip: string; where: string }[]
    assert.deepEqual(skipped.map((s) => s.skip).sort(), [
      ...Array(3).fill('cmd messages are not kept'),
      ...Array(3).fill('location: lat 200 out of range [-90, 90]'),
      ...Array(3).fill('not JSON'),
    ])
    assert.match(skipped[0].where, /^rec\/\w+\/\w+\/2024-05\.rec line \d+$/)
  })

  test('a directory that is not a store is refused with what to give instead', () => {
    assert.throws(() => listRecorderStore(join(tmp, 'nope')), (e: Error) => e instanceof ImportError && /not a directory/.test(e.message))
    assert.throws(() => listRecorderStore(tmpdir() === tmp ? '/' : join(tmp, '..', '..')), /holds none of rec\/, last\/, cards\/, waypoints\//)
  })
})

describe('reading GPX', () => {
  test('track points, route points and waypoints, with or without a prefix, any attribute order and quotes', async () => {
    const file = join(tmp, 'a.gpx')
    writeFileSync(file, `<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1" xmlns:g="http://www.topografix.com/GPX/1/1">
  <!-- <trkpt lat="9" lon="9"><time>2020-01-01T00:00:00Z</time></trkpt> is a comment -->
  <wpt lon='2.5' lat='48.5'><ele>12.5</ele><time>2024-05-01T10:00:00Z</time><name>Home</name></wpt>
  <trk><name>t</name><trkseg>
    <trkpt lat="48.1" lon="2.1"><ele>1e2</ele><time>2024-05-01T10:01:00.500Z</time></trkpt>
    <g:trkpt lat=" 48.2 " lon="2.2"><g:time>2024-05-01T12:02:00+02:00</g:time></g:trkpt>
    <trkpt lat="48.3" lon="2.3"/>
    <trkpt lat="x" lon="2.4"><time>2024-05-01T10:04:00Z</time></trkpt>
  </trkseg></trk>
  <rte><rtept lat="48.4" lon="2.4"><time>2024-05-01T10:05:00Z</time></rtept></rte>
</gpx>`)
    const pts = await all(readGpx(file))
    assert.deepEqual(pts.map(({ where: _w, ...p }) => p), [
      { lat: 48.5, lon: 2.5, alt: 12.5, tst: 1714557600 },
      { lat: 48.1, lon: 2.1, alt: 100, tst: 1714557660 },
      { lat: 48.2, lon: 2.2, tst: 1714557720 },
      { lat: 48.3, lon: 2.3 },
      { lat: NaN, lon: 2.4, tst: 1714557840 },
      { lat: 48.4, lon: 2.4, tst: 1714557900 },
    ])
    assert.deepEqual(pts.map((p) => p.where), ['wpt 1', 'trkpt 2', 'trkpt 3', 'trkpt 4', 'trkpt 5', 'rtept 6'])
  })

  test('a point cut across read chunks is still read whole', async () => {
    const file = join(tmp, 'big.gpx')
    const n = 20_000 // several 256 kB chunks
    let xml = '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n'
    for (let i = 0; i < n; i++) xml += `<trkpt lat="${(i % 90) / 2}" lon="${(i % 180) / 2}"><time>${new Date((1700000000 + i) * 1000).toISOString()}</time></trkpt>\n`
    writeFileSync(file, xml + '</trkseg></trk></gpx>\n')
    const pts = await all(readGpx(file))
    assert.equal(pts.length, n)
    assert.ok(pts.every((p, i) => p.tst === 1700000000 + i && p.lat === (i % 90) / 2))
  })
})
