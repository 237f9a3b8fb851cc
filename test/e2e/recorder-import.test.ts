import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { CLI, runCli, startHub, tempDir, type CliResult, type RunningHub } from '../helpers/hub.js'
import { as, createUsers } from '../helpers/users.js'
import { parseCsv, parseGpx } from '../helpers/formats-parse.js'
import { writeRecorderStore, type GeneratedStore } from '../helpers/recorder-store.js'

type Data = { count: number; data: Record<string, unknown>[] }

const ok = (r: CliResult): CliResult => { assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}${r.stdout}`); return r }
/** "N new, M already there" from an import summary. */
const counts = (r: CliResult) => {
  const m = /(\d+) messages \(([^)]*)\)[^\n]*\n\s+(\d+) new, (\d+) already there/.exec(r.stdout)
  assert.ok(m, r.stdout)
  return { read: Number(m[1]), types: m[2], added: Number(m[3]), present: Number(m[4]) }
}

describe('import recorder: a Recorder store, with the hub stopped and while it runs', () => {
  let root: string
  let store: GeneratedStore
  before(() => {
    root = tempDir()
    store = writeRecorderStore(join(root, 'store'), 200)
  })
  after(() => rmSync(root, { recursive: true, force: true }))

  // 600 locations + 3 last/ files, 60 transitions, 3 wills, 3 cards, a waypoint and a waypoints list
  const expectedRead = 600 + 3 + 60 + 3 + 3 + 1 + 1

  test('hub stopped: straight into the history; a second run reads the same and adds nothing', async () => {
    const data = join(root, 'stopped')
    await createUsers(data, { admin: { admin: true } })
    const first = ok(await runCli(['import', 'recorder', store.dir, '--data', data]))
    assert.match(first.stdout, new RegExp(`Imported ${store.dir} into the history in ${data}/history: ${expectedRead} messages`))
    assert.match(first.stdout, /of 2 users, 3 devices/)
    assert.deepEqual(counts(first), { read: expectedRead, types: '603 location, 60 transition, 3 lwt, 3 card, 1 waypoint, 1 waypoints', added: expectedRead - 3, present: 3 })
    assert.match(first.stdout, /Skipped 9:\n\s+3 × cmd messages are not kept \(first: rec\/fred\/phone\/2024-05\.rec line \d+\)/)
    assert.match(first.stdout, /3 × not JSON/)
    assert.match(first.stdout, /3 × location: lat 200 out of range \[-90, 90\]/)
    assert.doesNotMatch(first.stderr + first.stdout, /\r/, 'no progress bar when not on a terminal')
    const second = ok(await runCli(['import', 'recorder', store.dir, '--data', data]))
    assert.deepEqual(counts(second), { ...counts(first), added: 0, present: expectedRead })

    const hub = await startHub({ dataDir: data, aclDir: join(root, 'acl') })
    try {
      for (const [key, tsts] of store.locations) {
        const [user, device] = key.split('/')
        const d = await (await hub.http(`/api/0/locations?user=${user}&device=${device}&from=2024-01-01`, as('admin'))).json() as Data
        assert.deepEqual(d.data.map((p) => p.tst), tsts, key)
      }
      assert.deepEqual(await (await hub.http('/api/0/list?user=jane&device=phone', as('admin'))).json(), { results: ['2024-05', '2024-06'] })
      const last = await (await hub.http('/api/0/last', as('admin'))).json() as Record<string, unknown>[]
      assert.deepEqual(last.map((l) => [l.username, l.device, l.tst, l.name]), [
        ['fred', 'phone', store.locations.get('fred/phone')!.at(-1), 'Fred'],
        ['jane', 'phone', store.locations.get('jane/phone')!.at(-1), 'Jane Jolie'],
        ['jane', 'tablet', store.locations.get('jane/tablet')!.at(-1), 'Jane Jolie'],
      ])
    } finally { await hub.stop() }
  })

  test('hub running: through its control socket (mode 0600), visible at once; the second run adds nothing', async () => {
    const hub = await startHub({ dataDir: join(root, 'running'), aclDir: join(root, 'acl') })
    try {
      assert.equal(statSync(join(hub.dataDir, 'control.sock')).mode & 0o777, 0o600)
      const first = ok(await runCli(['import', 'recorder', store.dir, '--data', hub.dataDir]))
      assert.match(first.stdout, /into the running hub/)
      assert.deepEqual(counts(first), { read: expectedRead, types: '603 location, 60 transition, 3 lwt, 3 card, 1 waypoint, 1 waypoints', added: expectedRead - 3, present: 3 })
      const d = await (await hub.http('/api/0/locations?user=jane&device=tablet&from=2024-01-01')).json() as Data
      assert.equal(d.count, 200)
      const second = ok(await runCli(['import', 'recorder', store.dir, '--data', hub.dataDir]))
      assert.deepEqual(counts(second), { ...counts(first), added: 0, present: expectedRead })
    } finally { await hub.stop() }
  })

  test('on a terminal, a progress bar; the summary follows it', () => {
    const big = writeRecorderStore(join(root, 'big-store'), 2000)
    const cmd = [process.execPath, CLI, 'import', 'recorder', big.dir, '--data', join(root, 'tty')].map((a) => `'${a}'`).join(' ')
    // script(1) runs the command on a pseudo-terminal, as a person at a shell would
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /\r\[#*\.*\] +\d+%  \d+ messages/)
    assert.match(r.stdout, /Imported .* 6\d{3} messages/)
  })

  test('mistakes are refused with what to do', async () => {
    const notStore = await runCli(['import', 'recorder', join(root, 'nope'), '--data', join(root, 'x')])
    assert.equal(notStore.code, 2)
    assert.match(notStore.stderr, /is not a directory; give the Recorder's storage directory/)
    const empty = await runCli(['import', 'recorder', root, '--data', join(root, 'x')])
    assert.match(empty.stderr, /holds none of rec\/, last\/, cards\/, waypoints\//)
    assert.match((await runCli(['import', 'recorder', '--data', join(root, 'x')])).stderr, /needs the Recorder's STORE_DIR/)
  })
})

describe('import gpx and export, with the hub running and stopped', () => {
  let root: string
  let hub: RunningHub
  let gpxFile: string
  const base = Date.UTC(2024, 6, 1) / 1000
  before(async () => {
    root = tempDir()
    gpxFile = join(root, 'ride.gpx')
    let xml = '<?xml version="1.0"?>\n<gpx version="1.1" creator="a bike computer" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n'
    for (let i = 0; i < 500; i++) xml += `<trkpt lat="${(47 + i / 1000).toFixed(6)}" lon="${(8 + i / 1000).toFixed(6)}"><ele>${400 + i}</ele><time>${new Date((base + i * 10) * 1000).toISOString()}</time></trkpt>\n`
    xml += '<trkpt lat="47.9" lon="8.9"><ele>1</ele></trkpt>\n</trkseg></trk></gpx>\n'
    writeFileSync(gpxFile, xml)
    await createUsers(join(root, 'data'), { admin: { admin: true }, jane: {} })
    hub = await startHub({ dataDir: join(root, 'data'), aclDir: join(root, 'acl') })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  const cli = (...args: string[]) => runCli([...args, '--data', hub.dataDir])
  const apiPoints = async (device: string) => ((await (await hub.http(`/api/0/locations?user=jane&device=${device}&from=2024-01-01`, as('admin'))).json()) as Data).data

  test('import gpx: every timed point becomes a location of the device; points without time are counted out', async () => {
    const r = ok(await cli('import', 'gpx', gpxFile, '--user', 'jane', '--device', 'bike'))
    assert.deepEqual(counts(r), { read: 500, types: '500 location', added: 500, present: 0 })
    assert.match(r.stdout, /1 × no <time>: a location needs the time of its fix \(first: trkpt 501\)/)
    const pts = await apiPoints('bike')
    assert.equal(pts.length, 500)
    assert.deepEqual(pts[0], { ...pts[0], lat: 47, lon: 8, alt: 400, tst: base, tid: 'ke', _type: 'location' })
    assert.deepEqual(counts(ok(await cli('import', 'gpx', gpxFile, '--user', 'jane', '--device', 'bike'))).added, 0)
    const usage = await cli('import', 'gpx', gpxFile, '--user', 'jane')
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /needs --user USER and --device DEVICE/)
  })

  test('export to stdout and to a file, in gpx, geojson, csv and json: the same points as the API', async () => {
    const ref = await apiPoints('bike')
    const gpx = parseGpx(ok(await cli('export', '--user', 'jane', '--device', 'bike', '--format', 'gpx')).stdout)
    assert.deepEqual(gpx.map((p) => [p.lat, p.lon, p.ele]), ref.map((p) => [p.lat, p.lon, p.alt]))
    const file = join(root, 'bike.geojson')
    const r = ok(await cli('export', '--user', 'jane', '--device', 'bike', '--format', 'geojson', '-o', file))
    assert.match(r.stderr, new RegExp(`Exported jane/bike as geojson to ${file} \\(\\d+ bytes, from the running hub\\)`))
    const geo = JSON.parse(readFileSync(file, 'utf8')) as { features: { geometry: { coordinates: number[] } }[] }
    assert.deepEqual(geo.features.map((f) => f.geometry.coordinates), ref.map((p) => [p.lon, p.lat]))
    const csv = parseCsv(ok(await cli('export', '--user', 'jane', '--device', 'bike', '--format', 'csv', '--from', '2024-07-01T00:00:00', '--to', '2024-07-01T00:00:50')).stdout)
    assert.deepEqual(csv.slice(1).map((row) => Number(row[0])), [base, base + 10, base + 20, base + 30, base + 40, base + 50])
    const json = JSON.parse(ok(await cli('export', '--user', 'jane', '--device', 'bike')).stdout) as Data
    // An export is the store's points; the API adds the place names it finds for them (cc, tzname, …).
    const named = new Set(['cc', 'tzname', 'locality', 'addr'])
    assert.deepEqual(json.data, ref.map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => !named.has(k)))))
    const bad = await cli('export', '--user', 'jane', '--device', 'bike', '--format', 'kml')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--format kml: use one of json, geojson/)
    assert.match((await cli('export', '--user', 'jane', '--device', 'bike', '--from', 'soon')).stderr, /--from: 'soon' is not a time/)
  })

  test('round trip: exported GPX imported as another device gives back the same track', async () => {
    const file = join(root, 'bike.gpx')
    ok(await cli('export', '--user', 'jane', '--device', 'bike', '--format', 'gpx', '-o', file))
    ok(await cli('import', 'gpx', file, '--user', 'jane', '--device', 'copy'))
    const strip = (pts: Record<string, unknown>[]) => pts.map((p) => [p.lat, p.lon, p.alt, p.tst])
    assert.deepEqual(strip(await apiPoints('copy')), strip(await apiPoints('bike')))
  })

  test('with the hub stopped, export reads the store directly and writes the very same bytes', async () => {
    const formats = ['json', 'gpx', 'geojson', 'csv']
    const running = await Promise.all(formats.map(async (f) => ok(await cli('export', '--user', 'jane', '--device', 'bike', '--format', f)).stdout))
    await hub.stop()
    try {
      for (const [i, f] of formats.entries()) {
        const stopped = ok(await runCli(['export', '--user', 'jane', '--device', 'bike', '--format', f, '--data', hub.dataDir, '--acl-dir', hub.aclDir]))
        assert.equal(stopped.stdout, running[i], f)
      }
      const missing = await runCli(['export', '--user', 'jane', '--device', 'bike', '--data', join(root, 'nowhere')])
      assert.match(missing.stderr, /no history in .*nowhere \(wrong --data\?\)/)
    } finally {
      hub = await hub.restart()
    }
  })
})
