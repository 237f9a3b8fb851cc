import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { writeFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import type { MqttClient } from 'mqtt'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'
import { receiver, TestBrowser } from '../helpers/alert-receivers.js'

type Msg = Record<string, unknown>

const SCHOOL = { lat: 52.52, lon: 13.405 }
/** A point `m` metres north of the school's centre. */
const north = (m: number) => ({ lat: SCHOOL.lat + m / 111_195, lon: SCHOOL.lon })

async function writePlaces(hub: RunningHub, yaml: string): Promise<string> {
  const since = hub.logs().length
  const path = join(hub.aclDir, 'places.yml')
  writeFileSync(path + '.new', yaml)
  renameSync(path + '.new', path)
  return hub.waitForLog(/Reloaded places from .*|.*the previous places stay in force/, 5000, since)
}

describe('places: lisa\'s school, told to mum over MQTT, Web Push and a webhook; grandma sees only the place', () => {
  let hub: RunningHub
  let lisa: MqttClient
  let mum: Receiver
  let grandma: Receiver
  const pushService = receiver()
  const webhook = receiver((n) => (n === 1 ? 503 : 200)) // the first attempt fails: the hub retries
  const t0 = Math.floor(Date.now() / 1000) - 3600

  before(async () => {
    hub = await startHub({ args: ['--push-http'] })
    await addUsers(hub, 'lisa', 'mum', 'grandma')
    await writeRules(hub, [
      'shares:',
      '  - from: lisa',
      '    to: mum',
      '  - from: lisa',
      '    to: grandma',
      '    precision: place',
      '',
    ].join('\n'))
    const hook = await webhook
    const line = await writePlaces(hub, [
      'dwell: 1m',
      'margin: 25m',
      'places:',
      '  - name: school',
      '    owner: lisa',
      `    lat: ${SCHOOL.lat}`,
      `    lon: ${SCHOOL.lon}`,
      '    radius: 150m',
      'alerts:',
      '  - about: lisa',
      '    to: mum',
      '    places: [school]',
      `    webhook: ${hook.url}/#family`,
      '',
    ].join('\n'))
    assert.match(line, /Reloaded places/)
    lisa = await phone(hub.mqttPort, 'lisa', pw('lisa'))
    mum = await Receiver.connect(hub, 'mum')
    await mum.subscribe('owntracks/lisa/+/event')
    grandma = await Receiver.connect(hub, 'grandma')
    await grandma.subscribe('owntracks/lisa/#')
  })

  after(async () => {
    await lisa?.endAsync()
    await mum?.end()
    await grandma?.end()
    await hub?.stop()
    await (await pushService).close()
    await (await webhook).close()
  })

  const fix = (dt: number, at: { lat: number; lon: number }, acc = 10) =>
    lisa.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', tst: t0 + dt, acc, ...at }), { qos: 1 })

  test('mum subscribes this browser to alerts (Web Push); the subscription is hers to list and revoke', async () => {
    const svc = await pushService
    const browser = new TestBrowser(`${svc.url}/push/mum-browser`)
    const key = await (await hub.http('/api/push', { user: 'mum', password: pw('mum') })).json() as { publicKey: string }
    assert.match(key.publicKey, /^[A-Za-z0-9_-]{80,}$/)
    const res = await hub.http('/api/push/subscriptions', { user: 'mum', password: pw('mum'), method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(browser.subscription()) })
    assert.equal(res.status, 201)
    const mine = await (await hub.http('/api/push', { user: 'mum', password: pw('mum') })).json() as { subscriptions: { endpoint: string }[] }
    assert.deepEqual(mine.subscriptions.map((s) => s.endpoint), [browser.endpoint])
    const theirs = await (await hub.http('/api/push', { user: 'grandma', password: pw('grandma') })).json() as { subscriptions: unknown[] }
    assert.deepEqual(theirs.subscriptions, [])
    ;(globalThis as { browser?: TestBrowser }).browser = browser
  })

  test('a fix outside, two inside, jitter at the fence and a blurry fix, then away: exactly one enter and one leave', async () => {
    await fix(0, north(1000))       // outside: where everyone starts, no event
    await fix(60, north(0))         // inside: pending for the dwell
    await fix(130, north(20))       // still inside a minute later: entered at t0+60
    await fix(200, north(160))      // in the margin band (150…175 m): no change
    await fix(210, north(190))      // beyond the band, but only for 10 s …
    await fix(220, north(100))      // … back inside: the pending leave is forgotten
    await fix(240, north(2000), 500) // 500 m accuracy is larger than the place: does not count
    await fix(400, north(1000))     // away …
    await fix(500, north(1200))     // … and still away a minute later: left at t0+400
    await waitFor('two hub transitions on mum\'s subscription', async () => { await mum.settle(); return mum.messages().length >= 2 })
    await mum.settle()
    const events = mum.messages().map((m) => JSON.parse(m.payload) as Msg)
    assert.deepEqual(events.map((e) => [e.event, e.desc, e.tst, e.hub]), [['enter', 'school', t0 + 60, true], ['leave', 'school', t0 + 400, true]])
    assert.deepEqual(mum.topics(), ['owntracks/lisa/phone/event', 'owntracks/lisa/phone/event'])
    assert.equal(events[0]._type, 'transition')
    assert.equal(events[0].tid, 'li')
  })

  test('both transitions are stored in lisa\'s history, marked as the hub\'s, beside a phone\'s own', async () => {
    // the phone's own region event (its regions keep working): stored too, without the hub's mark, which it cannot fake
    await lisa.publishAsync('owntracks/lisa/phone/event', JSON.stringify({ _type: 'transition', event: 'enter', desc: 'Gym', t: 'c', tst: t0 + 550, wtst: 1, lat: 52.6, lon: 13.5, acc: 10, hub: true }), { qos: 1 })
    const res = await hub.http(`/api/places/events?user=lisa&device=phone&from=${t0 - 10}&to=${t0 + 600}`, { user: 'lisa', password: pw('lisa') })
    assert.equal(res.status, 200)
    const { events } = await res.json() as { events: Msg[] }
    assert.deepEqual(events.map((e) => [e.event, e.place, e.tst, e.by]), [['enter', 'school', t0 + 60, 'hub'], ['leave', 'school', t0 + 400, 'hub'], ['enter', 'Gym', t0 + 550, 'phone']])
    assert.match(hub.logs(), new RegExp(`Place: lisa/phone entered school at ${new Date((t0 + 60) * 1000).toISOString()}`))
    assert.match(hub.logs(), new RegExp(`Place: lisa/phone left school at ${new Date((t0 + 400) * 1000).toISOString()}`))
    // presence is about now: grandma reads no past events
    assert.deepEqual(((await (await hub.http(`/api/places/events?user=lisa&device=phone&from=${t0 - 10}&to=${t0 + 600}`, { user: 'grandma', password: pw('grandma') })).json()) as { events: unknown[] }).events, [])
  })

  test('mum\'s browser got both as Web Push, encrypted for it', async () => {
    const svc = await pushService
    await waitFor('two pushes', () => svc.got.length >= 2)
    const browser = (globalThis as { browser?: TestBrowser }).browser!
    for (const r of svc.got) {
      assert.equal(r.path, '/push/mum-browser')
      assert.equal(r.headers['content-encoding'], 'aes128gcm')
      assert.match(String(r.headers.authorization), /^vapid t=/)
    }
    const opened = svc.got.map((r) => browser.open(r.body))
    assert.deepEqual(opened.map((m) => [m.event, m.user, m.place, m.tst]), [['enter', 'lisa', 'school', t0 + 60], ['leave', 'lisa', 'school', t0 + 400]])
    assert.match(String(opened[0].title), /lisa arrived at school/)
  })

  test('a subscription is mum\'s to revoke: grandma cannot, mum can', async () => {
    const browser = (globalThis as { browser?: TestBrowser }).browser!
    const del = (user: string) => hub.http('/api/push/subscriptions', { user, password: pw(user), method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpoint: browser.endpoint }) })
    assert.equal((await del('grandma')).status, 404)
    assert.equal((await del('mum')).status, 200)
    const mine = await (await hub.http('/api/push', { user: 'mum', password: pw('mum') })).json() as { subscriptions: unknown[] }
    assert.deepEqual(mine.subscriptions, [])
  })

  test('the webhook got both as ntfy JSON, the first after a retry, with a log line per delivery', async () => {
    const hook = await webhook
    await waitFor('webhook deliveries', () => hook.got.filter((r) => r.body.length).length >= 3, 15_000)
    const bodies = hook.got.map((r) => JSON.parse(r.body.toString()) as Msg)
    assert.ok(hook.got.every((r) => r.path === '/' && r.headers['content-type'] === 'application/json'))
    assert.ok(bodies.every((b) => b.topic === 'family' && typeof b.title === 'string' && typeof b.message === 'string' && Array.isArray(b.tags)))
    // 1st attempt answered 503, so enter arrives twice (attempt 1 and 2), leave once
    assert.deepEqual(new Set(bodies.map((b) => b.event)), new Set(['enter', 'leave']))
    await hub.waitForLog(/Alert webhook http:\/\/127\.0\.0\.1:\d+\/: attempt 1 failed \(HTTP 503\); retrying/)
    await hub.waitForLog(/Alert webhook http:\/\/127\.0\.0\.1:\d+\/: delivered \(HTTP 200, attempt 2\): lisa arrived at school/, 15_000)
    await hub.waitForLog(/Alert webhook http:\/\/127\.0\.0\.1:\d+\/: delivered \(HTTP 200, attempt 1\): lisa left school/, 15_000)
  })

  test('grandma (precision: place) never got a coordinate that is not the school\'s centre, nor a location while away', async () => {
    await grandma.settle()
    const got = grandma.messages().map((m) => ({ topic: m.topic, ...(JSON.parse(m.payload) as Msg) }) as Msg)
    assert.ok(got.length > 0)
    for (const m of got) {
      if ('lat' in m || 'lon' in m) assert.deepEqual([m.lat, m.lon], [SCHOOL.lat, SCHOOL.lon], JSON.stringify(m))
      assert.ok(m._type === 'location' || m._type === 'transition' || m._type === 'lwt', JSON.stringify(m))
    }
    const locs = got.filter((m) => m._type === 'location')
    assert.ok(locs.every((m) => (m.inregions as string[])[0] === 'school' && m.acc === 150))
    // fixes at t0+130 … t0+400 happened while she was at school; the ones before and after were not shown
    assert.deepEqual(locs.map((m) => m.tst), [130, 200, 210, 220, 240, 400].map((d) => t0 + d))
    assert.deepEqual(got.filter((m) => m._type === 'transition').map((m) => m.event), ['enter', 'leave'])
  })

  test('grandma\'s /api/0/last, /ws/last and exports: away since the leave, no coordinates, no history', async () => {
    const last = await (await hub.http('/api/0/last?user=lisa', { user: 'grandma', password: pw('grandma') })).json() as Msg[]
    assert.equal(last.length, 1)
    assert.deepEqual(last[0].presence, { place: null, since: t0 + 400 })
    assert.equal(last[0].lat, undefined)
    assert.equal(last[0].lon, undefined)
    assert.equal(last[0].ghash, undefined)
    const exported = await (await hub.http(`/api/0/locations?user=lisa&device=phone&from=${t0 - 10}&to=${t0 + 600}`, { user: 'grandma', password: pw('grandma') })).json() as { data: unknown[] }
    assert.deepEqual(exported.data, [])
    const gpx = await (await hub.http(`/api/0/locations?user=lisa&device=phone&from=${t0 - 10}&to=${t0 + 600}&format=gpx`, { user: 'grandma', password: pw('grandma') })).text()
    assert.doesNotMatch(gpx, /lat=/)
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws/last`, { headers: { Authorization: 'Basic ' + Buffer.from(`grandma:${pw('grandma')}`).toString('base64') } })
    const got: Msg[] = []
    ws.on('message', (d) => got.push(JSON.parse(d.toString()) as Msg))
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j) })
    ws.send('LAST')
    await waitFor('LAST answer', () => got.length >= 1)
    assert.deepEqual(got[0].presence, { place: null, since: t0 + 400 })
    assert.equal(got[0].lat, undefined)
    // back at school: the live feed says so, at the school's centre
    await fix(900, north(10))
    await fix(970, north(5)) // still there after the dwell: entered at t0+900
    await waitFor('live presence', () => got.find((m) => (m.presence as Msg | undefined)?.place === 'school'))
    const at = got.find((m) => (m.presence as Msg | undefined)?.place === 'school')!
    assert.deepEqual([at.lat, at.lon, at.acc], [SCHOOL.lat, SCHOOL.lon, 150])
    assert.deepEqual(at.presence, { place: 'school', since: t0 + 900 })
    ws.close()
    const again = await (await hub.http('/api/0/last?user=lisa', { user: 'grandma', password: pw('grandma') })).json() as Msg[]
    assert.deepEqual([again[0].lat, again[0].lon, again[0].presence], [SCHOOL.lat, SCHOOL.lon, { place: 'school', since: t0 + 900 }])
  })

  test('grandma\'s phone in HTTP mode gets lisa at the school\'s centre among its friends', async () => {
    const res = await hub.http('/pub', { user: 'grandma', password: pw('grandma'), method: 'POST', headers: { 'content-type': 'application/json', 'X-Limit-U': 'grandma', 'X-Limit-D': 'phone' }, body: JSON.stringify({ _type: 'location', lat: 50, lon: 10, tst: t0 + 950 }) })
    const friends = await res.json() as Msg[]
    const l = friends.find((m) => m._type === 'location' && m.topic === 'owntracks/lisa/phone')!
    assert.deepEqual([l.lat, l.lon, l.inregions], [SCHOOL.lat, SCHOOL.lon, ['school']])
  })

  test('setWaypoints: lisa sends her places to her phones, over MQTT and to the HTTP-mode tablet', async () => {
    const cmds: Msg[] = []
    lisa.on('message', (topic, payload) => { if (topic === 'owntracks/lisa/phone/cmd') cmds.push(JSON.parse(payload.toString()) as Msg) })
    await lisa.subscribeAsync('owntracks/lisa/phone/cmd', { qos: 1 })
    const post = (tst: number) => hub.http('/pub', { user: 'lisa', password: pw('lisa'), method: 'POST', headers: { 'content-type': 'application/json', 'X-Limit-U': 'lisa', 'X-Limit-D': 'tablet' }, body: JSON.stringify({ _type: 'location', lat: 50, lon: 10, tst }) })
    await (await post(t0 + 1000)).arrayBuffer()
    const sent = await (await hub.http('/api/places/send', { user: 'lisa', password: pw('lisa'), method: 'POST' })).json() as { devices: string[]; places: string[] }
    assert.deepEqual(sent.devices.sort(), ['phone', 'tablet'])
    const expected = { _type: 'waypoint', desc: 'school', lat: SCHOOL.lat, lon: SCHOOL.lon, rad: 150 }
    await waitFor('cmd over MQTT', () => cmds.length >= 1)
    const wp = ((cmds[0].waypoints as Msg).waypoints as Msg[])[0]
    assert.equal(cmds[0]._type, 'cmd')
    assert.equal(cmds[0].action, 'setWaypoints')
    assert.deepEqual({ _type: wp._type, desc: wp.desc, lat: wp.lat, lon: wp.lon, rad: wp.rad }, expected)
    assert.equal(typeof wp.tst, 'number')
    const answer = await (await post(t0 + 1001)).json() as Msg[]
    const cmd = answer.find((m) => m._type === 'cmd')!
    assert.equal(cmd.action, 'setWaypoints')
    assert.deepEqual(((cmd.waypoints as Msg).waypoints as Msg[])[0], wp)
    const refused = await hub.http('/api/places/send?user=lisa', { user: 'mum', password: pw('mum'), method: 'POST' })
    assert.equal(refused.status, 403)
  })
})
