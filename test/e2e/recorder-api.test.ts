import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { card, loc, seedHistory } from '../helpers/history.js'
import { as, createUsers } from '../helpers/users.js'
import { mosquittoPub } from '../helpers/mosquitto.js'
import { parseCsv, parseGpx, parseXml } from '../helpers/formats-parse.js'
import { readPicture, solidPng } from '../helpers/images.js'

const MAY1 = Date.UTC(2024, 4, 1) / 1000
const now = Math.floor(Date.now() / 1000)
/** jane/phone: every 10 minutes for three days of May 2024, and one point an hour for the last ten hours. */
const may = Array.from({ length: 3 * 144 }, (_, i) => MAY1 + i * 600)
const recent = Array.from({ length: 10 }, (_, k) => now - k * 3600 - 30).reverse()

type Data = { count: number; data: Record<string, unknown>[]; status: number }

async function facePng(color: number): Promise<string> {
  return solidPng(64, 48, color).toString('base64')
}

async function pixels(res: Response): Promise<{ width: number; height: number; at(x: number, y: number): number }> {
  return readPicture(Buffer.from(await res.arrayBuffer()))
}

describe('the Recorder API, as a script written for the Recorder uses it', () => {
  let hub: RunningHub
  let root: string
  const get = async (path: string, who = as('admin'), init: RequestInit = {}) => hub.http(path, { ...init, ...who })
  const json = async <T = unknown>(path: string, who = as('admin')): Promise<T> => {
    const res = await get(path, who)
    assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`)
    return res.json() as Promise<T>
  }
  const tsts = (d: Data) => d.data.map((p) => p.tst)

  before(async () => {
    root = tempDir()
    const data = join(root, 'data')
    mkdirSync(join(root, 'acl'), { recursive: true })
    // jane may read fred's phone, not his tablet
    writeFileSync(join(root, 'acl', 'family.acl'), 'user jane\ntopic read owntracks/fred/phone/#\n')
    await createUsers(data, { admin: { admin: true }, jane: {}, fred: {}, zoe: {} })
    await seedHistory(data, [
      [...may, ...recent].map((t) => loc('jane', 'phone', t, { batt: 50, alt: 30 })),
      [loc('fred', 'phone', now - 100, { tid: 'fr' }), card('fred', 'phone', 'Fred', await facePng(0xff0000ff))],
      [loc('fred', 'tablet', now - 200, { tid: 'ft' }), loc('zoe', 'watch', now - 300), card('zoe', 'watch', 'Zoe', await facePng(0x00ff00ff))],
    ])
    hub = await startHub({ dataDir: data, aclDir: join(root, 'acl') })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  test('version', async () => {
    assert.match((await json<{ version: string }>('/api/0/version')).version, /^\d+\.\d+\.\d+/)
  })

  test('list: users, a user\'s devices, a device\'s months — only what the caller may see', async () => {
    assert.deepEqual(await json('/api/0/list'), { results: ['fred', 'jane', 'zoe'] })
    assert.deepEqual(await json('/api/0/list', as('jane')), { results: ['fred', 'jane'] })
    assert.deepEqual(await json('/api/0/list?user=fred', as('jane')), { results: ['phone'] })
    assert.deepEqual(await json('/api/0/list?user=fred'), { results: ['phone', 'tablet'] })
    const months = [...new Set([...may, ...recent].map((t) => new Date(t * 1000).toISOString().slice(0, 7)))].sort()
    assert.deepEqual(await json('/api/0/list?user=jane&device=phone', as('jane')), { results: months })
    assert.deepEqual(await json('/api/0/list?user=fred&device=tablet', as('jane')), { results: [] })
  })

  test('last: the newest location of each visible device, with username, device, topic, times, geohash and card', async () => {
    const last = await json<Record<string, unknown>[]>('/api/0/last', as('jane'))
    assert.deepEqual(last.map((l) => `${l.username}/${l.device}`), ['fred/phone', 'jane/phone'])
    const fred = last[0]
    assert.equal(fred.topic, 'owntracks/fred/phone')
    assert.equal(fred.tst, now - 100)
    assert.equal(fred.name, 'Fred')
    assert.equal(typeof fred.face, 'string')
    assert.match(String(fred.isotst), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.match(String(fred.disptst), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
    assert.match(String(fred.ghash), /^[0-9b-hjkmnp-z]{7}$/)
    assert.deepEqual(await json('/api/0/last?user=jane&fields=tst,tid,topic', as('jane')), [{ tst: recent[9], tid: 'ne', topic: 'owntracks/jane/phone' }])
    assert.deepEqual(await json('/api/0/last?user=fred&device=tablet', as('jane')), [], 'an unshared device is not there')
  })

  test('locations: every from/to form the Recorder accepts, UTC, inclusive', async () => {
    const at = (h: number, m = 0) => MAY1 + h * 3600 + m * 60
    const cases: [string, number[]][] = [
      ['from=2024-05-01T00:00:00&to=2024-05-01T01:00:00', may.filter((t) => t <= at(1))],
      ['from=2024-05-01T00:00&to=2024-05-01T00:30', may.filter((t) => t <= at(0, 30))],
      ['from=2024-05-01T01&to=2024-05-01T01', may.filter((t) => t >= at(1) && t < at(2))],
      ['from=2024-05-02&to=2024-05-02', may.filter((t) => t >= at(24) && t < at(48))],
      ['from=2024-05&to=2024-05', may],
      ['from=2024-05-01T00:00:00Z&to=2024-05-01T00:20Z', may.filter((t) => t <= at(0, 20))],
      [`from=${MAY1}&to=${MAY1 + 600}`, [MAY1, MAY1 + 600]],
      ['from=2024-05-03T23:00:00', [...may.filter((t) => t >= at(71)), ...recent]],
    ]
    for (const [q, want] of cases) {
      const d = await json<Data>(`/api/0/locations?user=jane&device=phone&${q}`, as('jane'))
      assert.deepEqual(tsts(d), want, q)
      assert.equal(d.count, want.length, q)
      assert.equal(d.status, 200)
    }
  })

  test('locations: the last 6 hours by default; limit=N the newest N, ascending; fields picks keys', async () => {
    assert.deepEqual(tsts(await json<Data>('/api/0/locations?user=jane&device=phone', as('jane'))), recent.slice(4))
    assert.deepEqual(tsts(await json<Data>('/api/0/locations?user=jane&device=phone&limit=3', as('jane'))), recent.slice(7))
    assert.deepEqual(tsts(await json<Data>('/api/0/locations?user=jane&device=phone&limit=2&to=2024-05-01', as('jane'))), may.slice(142, 144))
    const d = await json<Data>('/api/0/locations?user=jane&device=phone&limit=2&fields=tst,isotst,lat', as('jane'))
    assert.deepEqual(d.data.map((p) => Object.keys(p)), [['tst', 'isotst', 'lat'], ['tst', 'isotst', 'lat']])
  })

  test('locations: parameters as POST form fields and as X-Limit-* headers', async () => {
    const form = await get('/api/0/locations', as('jane'), { method: 'POST', body: new URLSearchParams({ user: 'jane', device: 'phone', from: '2024-05-01', to: '2024-05-01T00:10' }) })
    assert.deepEqual(tsts(await form.json() as Data), [MAY1, MAY1 + 600])
    const headers = await get('/api/0/locations', as('jane'), { headers: { 'X-Limit-User': 'jane', 'X-Limit-Device': 'phone', 'X-Limit-From': '2024-05-01', 'X-Limit-To': '2024-05-01T00:10' } })
    assert.deepEqual(tsts(await headers.json() as Data), [MAY1, MAY1 + 600])
  })

  test('locations in every format carry the same points as json', async () => {
    const q = '/api/0/locations?user=jane&device=phone&from=2024-05-01&to=2024-05-01'
    const ref = (await json<Data>(q, as('jane'))).data
    assert.equal(ref.length, 144)
    const text = async (format: string, type: RegExp) => {
      const res = await get(`${q}&format=${format}`, as('jane'))
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', type)
      return res.text()
    }
    const coords = ref.map((p) => [p.lon, p.lat])
    const geo = JSON.parse(await text('geojson', /geo\+json/)) as { features: { geometry: { coordinates: number[] }; properties: Record<string, unknown> }[] }
    assert.deepEqual(geo.features.map((f) => f.geometry.coordinates), coords)
    assert.deepEqual(geo.features.map((f) => f.properties.tst), ref.map((p) => p.tst))
    const line = JSON.parse(await text('linestring', /geo\+json/)) as { geometry: { type: string; coordinates: number[][] } }
    assert.equal(line.geometry.type, 'LineString')
    assert.deepEqual(line.geometry.coordinates, coords)
    const csv = parseCsv(await text('csv', /text\/csv/))
    const col = (n: string) => csv.slice(1).map((r) => r[csv[0].indexOf(n)])
    assert.deepEqual(col('tst').map(Number), ref.map((p) => p.tst))
    assert.deepEqual(col('lat').map(Number), ref.map((p) => p.lat))
    const gpx = parseGpx(await text('gpx', /gpx\+xml/))
    assert.deepEqual(gpx.map((p) => [p.lon, p.lat]), coords)
    assert.deepEqual(gpx.map((p) => p.time), ref.map((p) => p.isotst))
    assert.deepEqual(gpx.map((p) => p.ele), ref.map(() => 30))
    const xml = parseXml(await text('xml', /xml/))
    assert.deepEqual(xml.map((p) => Number(p.tst)), ref.map((p) => p.tst))
    const csvFields = parseCsv(await text('csv&fields=isotst,batt', /csv/))
    assert.deepEqual(csvFields[0], ['isotst', 'batt'])
    assert.deepEqual(csvFields[1], [ref[0].isotst, '50'])
  })

  test('bad parameters: 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['/api/0/locations?user=jane&device=phone&format=kml', /parameter 'format': 'kml' is not one of json, geojson/],
      ['/api/0/locations?user=jane&device=phone&limit=ten', /parameter 'limit'/],
      ['/api/0/locations?user=jane&device=phone&limit=0', /parameter 'limit'/],
      ['/api/0/locations?user=jane&device=phone&from=yesterday', /parameter 'from': 'yesterday' is not a time/],
      ['/api/0/locations?user=jane&device=phone&to=2024-13-01', /parameter 'to'/],
      ['/api/0/locations?user=jane&device=phone&from=2024-06-01&to=2024-05-01', /from .* is after to/],
      ['/api/0/locations?device=phone', /parameter 'user' is required/],
      ['/api/0/locations?user=jane', /parameter 'device' is required/],
      ['/api/0/last?fields=,', /parameter 'fields'/],
      ['/api/0/photo', /parameter 'user' is required/],
      ['/api/0/q?lon=2', /parameter 'lat': missing/],
      ['/api/0/q?lat=91&lon=2', /parameter 'lat': '91' is not a number from -90 to 90/],
    ]
    for (const [path, msg] of cases) {
      const res = await get(path, as('jane'))
      assert.equal(res.status, 400, path)
      const body = await res.json() as { error: string; status: number }
      assert.match(body.error, msg, path)
      assert.equal(body.status, 400)
    }
    assert.equal((await get('/api/0/version', as('jane'))).status, 200, 'still serving')
  })

  test("locations of a device the caller may not see: 403, whatever the format", async () => {
    for (const format of ['json', 'gpx', 'csv']) {
      const res = await get(`/api/0/locations?user=fred&device=tablet&format=${format}`, as('jane'))
      assert.equal(res.status, 403)
    }
  })

  test("photo: a 40×40 PNG of the user's card face, or a transparent one with a black border", async () => {
    const fred = await get('/api/0/photo?user=fred', as('jane'))
    assert.equal(fred.headers.get('content-type'), 'image/png')
    const f = await pixels(fred)
    assert.deepEqual([f.width, f.height], [40, 40])
    assert.equal(f.at(20, 20), 0xff0000ff, 'the face, scaled')
    for (const who of [as('jane'), as('fred')]) {
      // zoe's card is on a device jane may not see; jane has no card at all
      for (const user of who.user === 'jane' ? ['zoe', 'jane', 'nobody'] : ['jane']) {
        const p = await pixels(await get(`/api/0/photo?user=${user}`, who))
        assert.deepEqual([p.width, p.height, p.at(0, 0), p.at(20, 20)], [40, 40, 0x000000ff, 0x00000000], `${who.user} asking for ${user}`)
      }
    }
    assert.equal((await pixels(await get('/api/0/photo?user=zoe'))).at(20, 20), 0x00ff00ff, 'an admin sees zoe')
  })

  test('monitor: "<epoch> <topic>" of the newest message the caller may read', async () => {
    const before = Math.floor(Date.now() / 1000)
    for (const [u, d] of [['jane', 'phone'], ['fred', 'tablet']]) {
      const pub = await mosquittoPub(['-p', String(hub.mqttPort), '-u', u, '-P', `${u}-pw`, '-q', '1', '-t', `owntracks/${u}/${d}`, '-m', JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst: now })])
      assert.equal(pub.code, 0, pub.stderr)
    }
    const seen = async (who: { user: string; password: string }) => {
      const res = await get('/api/0/monitor', who)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
      const [at, topic] = (await res.text()).trim().split(' ')
      assert.ok(Number(at) >= before)
      return topic
    }
    assert.equal(await seen(as('admin')), 'owntracks/fred/tablet')
    assert.equal(await seen(as('jane')), 'owntracks/jane/phone', "fred's tablet is not jane's to know about")
    assert.equal((await get('/api/0/monitor', as('zoe'))).status, 404)
  })

  test('q: the names of a place, found offline (no geocoder: no street address)', async () => {
    const res = await get('/api/0/q?lat=48.85833&lon=2.295', as('jane'))
    assert.equal(res.status, 200)
    const q = await res.json() as Record<string, unknown>
    assert.equal(q.cc, 'FR')
    assert.equal(q.tzname, 'Europe/Paris')
    assert.equal(q.ghash, 'u09tunr')
    assert.equal(q.addr, undefined)
    assert.deepEqual(await (await get('/api/0/q?lat=45&lon=-30', as('jane'))).json(), { tzname: 'Etc/GMT+2', ghash: 'erfxvrf' })
  })

  test('kill: an admin deletes a device\'s history; nobody else may, nor a page on another site', async () => {
    assert.equal((await get('/api/0/kill?user=zoe&device=watch', as('zoe'))).status, 403, 'not even the owner')
    const forged = await get('/api/0/kill?user=zoe&device=watch', as('admin'), { headers: { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' } })
    assert.equal(forged.status, 403)
    assert.deepEqual((await json<Data>('/api/0/locations?user=zoe&device=watch&limit=5')).count, 1, 'nothing deleted yet')
    const res = await get('/api/0/kill?user=zoe&device=watch', as('admin'))
    assert.equal(res.status, 200)
    const body = await res.json() as { status: string; killed: string[]; locations: number }
    assert.equal(body.status, 'OK')
    assert.equal(body.locations, 1)
    assert.deepEqual(body.killed, [`${new Date((now - 300) * 1000).toISOString().slice(0, 7)}.rec`])
    assert.deepEqual(await json('/api/0/list?user=zoe'), { results: [] })
    assert.deepEqual((await json<Data>('/api/0/locations?user=zoe&device=watch&limit=5')).count, 0)
    assert.match(hub.logs(), /Deleted the history of zoe\/watch \(1 locations\) at the request of admin/)
  })

  test('without credentials: 401 with a Basic challenge, on every endpoint', async () => {
    for (const p of ['version', 'list', 'last', 'locations?user=jane&device=phone', 'photo?user=jane', 'monitor', 'kill', 'q?lat=1&lon=1']) {
      const res = await hub.http(`/api/0/${p}`, { user: '' })
      assert.equal(res.status, 401, p)
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/)
    }
  })
})

describe('--docroot serves a web app at / (the OwnTracks Frontend) behind the same login', () => {
  let hub: RunningHub
  let root: string
  before(async () => {
    root = tempDir()
    const docroot = join(root, 'frontend')
    mkdirSync(join(docroot, 'js'), { recursive: true })
    writeFileSync(join(docroot, 'index.html'), '<!doctype html><title>OwnTracks</title><script src="js/app.js"></script>')
    writeFileSync(join(docroot, 'js', 'app.js'), 'fetch("/api/0/version")')
    writeFileSync(join(root, 'secret.txt'), 'outside the docroot')
    hub = await startHub({ dataDir: join(root, 'data'), aclDir: join(root, 'acl'), args: ['--docroot', docroot] })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  test('/ is the app\'s index.html, its files are served, and the API works next to it', async () => {
    const index = await hub.http('/')
    assert.equal(index.status, 200)
    assert.match(index.headers.get('content-type') ?? '', /text\/html/)
    assert.match(await index.text(), /<title>OwnTracks<\/title>/)
    const js = await hub.http('/js/app.js')
    assert.match(js.headers.get('content-type') ?? '', /javascript/)
    assert.equal((await hub.http('/api/0/version')).status, 200)
    assert.equal((await hub.http('/nope.html')).status, 404)
  })

  test('the browser is asked to log in; nothing outside the docroot is reachable', async () => {
    const anon = await hub.http('/', { user: '' })
    assert.equal(anon.status, 401)
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic/)
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/js/..%2f..%2fsecret.txt']) {
      const res = await hub.http(p)
      assert.notEqual(res.status, 200, p)
      assert.doesNotMatch(await res.text(), /outside the docroot/, p)
    }
    assert.equal((await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`)).status, 200, 'health stays open')
  })

  test('a --docroot that is not a directory stops the start with what to give instead', async () => {
    const r = await runCli(['serve', '--data', join(root, 'data2'), '--docroot', join(root, 'nope'), '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0'])
    assert.equal(r.code, 1)
    assert.match(r.stdout, /Cannot start: --docroot .*nope is not a directory: give the folder holding the web app's index.html/)
  })
})
