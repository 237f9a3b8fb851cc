import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { seedHistory } from '../helpers/history.js'
import { as, createUsers } from '../helpers/users.js'
import { week } from '../helpers/days.js'
import { location, phone } from '../helpers/phone.js'

// Monday 2 November 2026, 00:00 in Utrecht (UTC+1 in winter)
const MONDAY = Date.UTC(2026, 10, 2) / 1000 - 3600
const generated = week(MONDAY)
const DATES = ['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06', '2026-11-07', '2026-11-08']

interface Visit { lat: number; lon: number; from: number; to: number; cc?: string; locality?: string; addr?: string }
interface Trip { from: number; to: number; distance: number; mode: string; path: [number, number][] }
interface DayAnswer { summary: { date: string; tz: string; distance: number; visits: number; countries: string[]; towns: string[]; fixes: number; first: number; last: number }; visits: Visit[]; trips: Trip[]; previous: string; next: string }

describe('days, visits and trips of a generated week, through the API', () => {
  let hub: RunningHub
  let root: string
  const get = async <T>(path: string, who = as('admin'), status = 200): Promise<T> => {
    const res = await hub.http(path, who)
    assert.equal(res.status, status, `${path}: ${res.status} ${await res.clone().text()}`)
    return res.json() as Promise<T>
  }

  before(async () => {
    root = tempDir()
    const data = join(root, 'data')
    mkdirSync(join(root, 'acl'), { recursive: true })
    writeFileSync(join(root, 'acl', 'sharing.yml'), [
      'shares:',
      '  - {from: jane, to: [fred], devices: [phone], precision: 1km}',
      '  - {from: jane, to: [lisa], devices: [phone], history: false}',
      '',
    ].join('\n'))
    await createUsers(data, { admin: { admin: true }, jane: {}, fred: {}, lisa: {}, zoe: {} })
    await seedHistory(data, generated.map((d) => d.fixes.map((f) => ({ user: 'jane', device: 'phone', topic: 'owntracks/jane/phone', message: { _type: 'location', tid: 'ja', ...f } }))))
    hub = await startHub({ dataDir: data, aclDir: join(root, 'acl') })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  test('jane\'s Monday: home, school, work, shop, home, named offline, in her time zone', async () => {
    const d = await get<DayAnswer>('/api/0/day?user=jane&device=phone&date=2026-11-02', as('jane'))
    assert.equal(d.summary.tz, 'Europe/Amsterdam')
    assert.equal(d.summary.visits, 5)
    assert.deepEqual(d.visits.map((v) => v.cc), ['NL', 'NL', 'NL', 'NL', 'NL'])
    // GeoNames' nearest places: Utrecht, and for the office on the eastern edge the hamlet Nijenheim
    assert.deepEqual(d.visits.map((v) => v.locality), ['Utrecht', 'Utrecht', 'Nijenheim', 'Utrecht', 'Utrecht'])
    assert.deepEqual(d.trips.map((t) => t.mode), ['walk', 'bike', 'car', 'walk'])
    assert.deepEqual(d.summary.countries, ['NL'])
    assert.equal(d.summary.first, generated[0].fixes[0].tst)
    assert.ok(d.summary.distance > 12_000 && d.summary.distance < 15_000, `distance ${d.summary.distance}`)
    assert.equal(d.previous, '2026-11-01')
    assert.equal(d.next, '2026-11-03')
  })

  test('the week\'s days, visits and trips', async () => {
    const days = await get<{ days: DayAnswer['summary'][] }>('/api/0/days?user=jane&device=phone&from=2026-11-02&to=2026-11-08')
    assert.deepEqual(days.days.map((x) => x.date), DATES)
    assert.deepEqual(days.days.map((x) => x.visits), [5, 5, 5, 5, 5, 1, 1])
    const visits = await get<{ visits: (Visit & { date: string })[] }>('/api/0/visits?user=jane&device=phone&from=2026-11-02&to=2026-11-08')
    assert.equal(visits.visits.length, 27)
    const trips = await get<{ trips: Trip[] }>('/api/0/trips?user=jane&device=phone&from=2026-11-02&to=2026-11-08')
    assert.equal(trips.trips.length, 20)
  })

  test('statistics: distance per day, week and month, countries and towns with first dates, home and away', async () => {
    const s = await get<{ distance: { week: Record<string, number>; month: Record<string, number>; total: number }; countries: { cc: string; first: string }[]; towns: { name: string; first: string }[]; home: { seconds: number }; away: number; active: { date: string }[] }>('/api/0/stats?user=jane&device=phone&from=2026-11-01&to=2026-11-30')
    assert.deepEqual(s.countries.map((c) => [c.cc, c.first]), [['NL', '2026-11-02']])
    assert.deepEqual(s.towns.map((c) => [c.name, c.first]), [['Utrecht', '2026-11-02'], ['Nijenheim', '2026-11-02']])
    assert.equal(s.active.length, 7)
    assert.ok(s.distance.week['2026-W45'] > 60_000, JSON.stringify(s.distance.week))
    assert.equal(s.distance.month['2026-11'], s.distance.total)
    assert.ok(s.home.seconds > s.away, 'more time at home than away')
    const person = await get<{ devices: string[] }>('/api/0/stats?user=jane&from=2026-11-01&to=2026-11-30')
    assert.deepEqual(person.devices, ['phone'])
  })

  test('fred (1 km share) gets visits on the 1 km grid with the town, never the street; lisa (live only) and zoe (no share) get no days', async () => {
    const d = await get<DayAnswer>('/api/0/day?user=jane&device=phone&date=2026-11-02', as('fred'))
    const exact = await get<DayAnswer>('/api/0/day?user=jane&device=phone&date=2026-11-02', as('jane'))
    assert.equal(d.visits.length, 5)
    for (const [i, v] of d.visits.entries()) {
      assert.notEqual(v.lat, exact.visits[i].lat)
      assert.equal(v.addr, undefined)
      assert.equal(v.cc, 'NL')
    }
    const cells = new Set(d.trips.flatMap((t) => t.path.map((p) => p.join(','))))
    assert.ok(cells.size < exact.trips.reduce((n, t) => n + t.path.length, 0) / 3, 'trip paths are cut to grid cells')
    await get('/api/0/day?user=jane&device=phone&date=2026-11-02', as('lisa'), 403)
    await get('/api/0/stats?user=jane', as('lisa'), 403)
    await get('/api/0/days?user=jane&device=phone', as('zoe'), 403)
    await get('/api/0/stats?user=jane', as('zoe'), 403)
  })

  test('a fix that arrives later changes its day; days rebuild makes them all again', async () => {
    const before = await get<DayAnswer>('/api/0/day?user=jane&device=phone&date=2026-11-09')
    assert.equal(before.summary.fixes, 0)
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw')
    // the Monday after, in the afternoon: two hours in Amersfoort, published late
    for (let t = MONDAY + 7 * 86_400 + 14 * 3600; t < MONDAY + 7 * 86_400 + 16 * 3600; t += 300) {
      await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ lat: 52.1561, lon: 5.3878, tst: t, acc: 15 })), { qos: 1 })
    }
    await jane.endAsync()
    const after = await get<DayAnswer>('/api/0/day?user=jane&device=phone&date=2026-11-09')
    assert.deepEqual(after.visits.map((v) => v.locality), ['Amersfoort'])
    const r = await runCli(['days', 'rebuild', '--data', hub.dataDir])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Rebuilt \d+ day summaries/)
    const again = await get<DayAnswer>('/api/0/day?user=jane&device=phone&date=2026-11-09')
    assert.deepEqual(again.visits.map((v) => v.locality), ['Amersfoort'])
    assert.equal((await get<DayAnswer>('/api/0/day?user=jane&device=phone&date=2026-11-02')).summary.visits, 5)
  })

  test('a bad date is a 400 naming the parameter', async () => {
    const e = await get<{ error: string }>('/api/0/day?user=jane&device=phone&date=2026-13-01', as('admin'), 400)
    assert.match(e.error, /parameter 'date'/)
    await waitFor('the hub still answers', async () => (await hub.http('/api/0/version', as('admin'))).ok)
  })
})
