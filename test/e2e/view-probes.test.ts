import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { phone } from '../helpers/phone.js'
import { runCli, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { LiveFeed, read, strip, type Msg } from '../helpers/channels.js'
import { signIn } from '../helpers/session.js'
import { Receiver } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

const DEVICE = 'owntracks/jane/phone'
const SECRET = { lat: 51.500712, lon: -0.124625 }

/** What fred gets of jane's phone on each of the four channels, after jane published a card, a transition and locations. */
async function fourChannels(hub: RunningHub, jane: MqttClient, tst: number, over: Msg = {}): Promise<{ mqtt: Msg[]; retained: Msg[]; last: Msg[]; ws: Msg[]; pub: Msg[] }> {
  // Nothing retained from before: aedes sends retained messages after the SUBACK, so one could
  // otherwise arrive after the marker that ends subscribe() and look live.
  for (const t of [DEVICE, `${DEVICE}/info`]) await jane.publishAsync(t, '', { qos: 1, retain: true })
  const fred = await Receiver.connect(hub, 'fred', { clientId: `fred-${tst}` })
  await fred.subscribe('owntracks/#')
  fred.clear()
  const feed = await LiveFeed.open(hub, 'fred')
  try {
    await jane.publishAsync(`${DEVICE}/info`, JSON.stringify({ _type: 'card', name: 'Jane Secretname', face: 'iVBORw0KGgo=' }), { qos: 1, retain: true })
    await jane.publishAsync(`${DEVICE}/event`, JSON.stringify({ _type: 'transition', event: 'enter', desc: 'Secretclinic', ...SECRET, acc: 5, tst, wtst: 1 }), { qos: 1 })
    // Numeric strings, as some phones send them, and the fields a photo or a tag would add.
    await jane.publishAsync(DEVICE, JSON.stringify({ _type: 'location', lat: String(SECRET.lat), lon: String(SECRET.lon), acc: '8', image: 'aGVsbG8=', imagename: 'clinic.jpg', tag: 'clinic', tid: 'jp', tst, ...over }), { qos: 1, retain: true })
    await fred.settle()
    await feed.settle()
    const mqtt = fred.messages().filter((m) => m.topic.startsWith(DEVICE)).map((m) => read(m.payload) as Msg)
    const later = await Receiver.connect(hub, 'fred', { clientId: `fred-later-${tst}` })
    await later.subscribe(DEVICE, `${DEVICE}/+`)
    const expected = fred.messages().filter((m) => m.topic === DEVICE || m.topic === `${DEVICE}/info`).length
    await waitFor('the retained messages', () => later.messages().length >= expected)
    const retained = later.messages().map((m) => read(m.payload) as Msg)
    await later.end()
    const as = { user: 'fred', password: pw('fred') }
    const last = (await (await hub.http('/api/0/last?user=jane', as)).json()) as Msg[]
    const res = await hub.http('/pub', { ...as, method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'fred', 'x-limit-d': 'phone' }, body: JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst, tid: 'fr' }) })
    const pub = ((await res.json()) as Msg[]).filter((m) => m.topic === DEVICE)
    return { mqtt, retained, last, ws: feed.of('jane'), pub }
  } finally {
    await fred.end()
    feed.close()
  }
}

describe('jane shares her location only with fred: the card, the transition and the exact place stay hers on every channel', () => {
  let hub: RunningHub
  let jane: MqttClient
  const t0 = Math.floor(Date.now() / 1000) - 600
  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'jane', 'fred')
    jane = await phone(hub.mqttPort, 'jane', pw('jane'))
  })
  after(async () => { await jane?.endAsync(); await hub?.stop() })

  test('include: [location] — fred gets jane\'s location and nothing of her card or transition, over MQTT, /api/0/last, /ws/last and /pub', async () => {
    await writeRules(hub, 'shares:\n  - {from: jane, to: [fred], devices: [phone], include: [location]}\n')
    const acl = await runCli(['acl', 'check', 'fred', `${DEVICE}/info`, 'read', '--acl-dir', hub.aclDir, '--data', hub.dataDir])
    assert.equal(acl.code, 1, 'acl check: denied')
    const got = await fourChannels(hub, jane, t0)
    assert.deepEqual(got.mqtt.map((m) => m._type), ['location'])
    assert.deepEqual(got.retained.map((m) => m._type), ['location'])
    assert.deepEqual(got.ws.map((m) => m._type), ['location'], '/ws/last: no card, no transition')
    assert.deepEqual(got.pub.map((m) => m._type), ['location'], '/pub: no card')
    for (const [channel, list] of Object.entries(got)) {
      const text = JSON.stringify(list)
      assert.ok(!text.includes('Secretname') && !text.includes('Secretclinic'), `${channel}: ${text}`)
    }
    assert.equal(got.last.length, 1)
    assert.equal(got.last[0].name, undefined)
    assert.equal(got.last[0].face, undefined)
  })

  test('precision: 1km — the same blurred coordinates on all four channels, numeric strings included, live and retained; image, imagename and tag withheld', async () => {
    await writeRules(hub, 'shares:\n  - {from: jane, to: [fred], devices: [phone], include: [location, card], precision: 1km}\n')
    const got = await fourChannels(hub, jane, t0 + 60)
    const live = got.mqtt.filter((m) => m._type === 'location')
    assert.equal(live.length, 1, JSON.stringify(got.mqtt))
    const blurred = live[0]
    assert.notEqual(blurred.lat, SECRET.lat)
    assert.notEqual(blurred.lon, SECRET.lon)
    assert.ok((blurred.acc as number) >= 700)
    for (const f of ['image', 'imagename', 'tag']) assert.equal(blurred[f], undefined, `${f} withheld`)
    const same = (m: Msg | undefined, channel: string) => assert.deepEqual(m && strip(m), blurred, channel)
    same(got.retained.find((m) => m._type === 'location'), 'retained')
    same(got.last[0], '/api/0/last')
    same(got.ws.find((m) => m._type === 'location'), '/ws/last')
    same(got.pub.find((m) => m._type === 'location'), '/pub')
    for (const [channel, list] of Object.entries(got)) assert.ok(!JSON.stringify(list).includes('51.500712'), `${channel} leaks the exact latitude`)
    assert.equal(got.last[0].name, 'Jane Secretname', 'the card is shared this time')
  })

  test('/api/0/monitor shows fred only topics he may read: not jane\'s …/cmd or …/dump', async () => {
    await writeRules(hub, 'shares:\n  - {from: jane, to: [fred], devices: [phone], include: [location]}\n')
    await jane.publishAsync(DEVICE, JSON.stringify({ _type: 'location', ...SECRET, tst: t0 + 120 }), { qos: 1 })
    await jane.publishAsync(`${DEVICE}/cmd`, JSON.stringify({ _type: 'cmd', action: 'reportLocation' }), { qos: 1 })
    await jane.publishAsync(`${DEVICE}/dump`, JSON.stringify({ _type: 'configuration' }), { qos: 1 })
    const fredSees = await (await hub.http('/api/0/monitor', { user: 'fred', password: pw('fred') })).text()
    assert.match(fredSees, / owntracks\/jane\/phone\n$/)
    const janeSees = await (await hub.http('/api/0/monitor', { user: 'jane', password: pw('jane') })).text()
    assert.match(janeSees, / owntracks\/jane\/phone\/dump\n$/)
  })
})

describe('names at the edge, history windows and format names', () => {
  let hub: RunningHub
  let jane: MqttClient
  const now = Math.floor(Date.now() / 1000)
  const old = now - 30 * 86400
  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'jane', 'fred')
    await writeRules(hub, 'shares:\n  - {from: jane, to: [fred], devices: [phone], history: 7d}\n')
    jane = await phone(hub.mqttPort, 'jane', pw('jane'))
    for (const tst of [old, now - 60]) await jane.publishAsync(DEVICE, JSON.stringify({ _type: 'location', ...SECRET, tst }), { qos: 1 })
  })
  after(async () => { await jane?.endAsync(); await hub?.stop() })

  const fred = { user: 'fred', password: pw('fred') }
  const pad = (n: number) => String(n).padStart(11, '0')

  test('a NUL in device is a 400, and no crafted name returns a point older than fred\'s 7 days', async () => {
    const nul = await hub.http(`/api/0/locations?user=jane&device=phone%00${pad(old)}&from=0&to=99999999998`, fred)
    assert.equal(nul.status, 400)
    assert.match(((await nul.json()) as { error: string }).error, /parameter 'device' contains the control character U\+0000/)
    const crafted = ['phone%00', `phone%00${pad(old)}%00`, 'phone%2F..', 'phone%01', '%2B', '%23', 'phone%7F', 'x'.repeat(65), `phone%C2%85`]
    for (const d of crafted) {
      for (const u of ['jane', `jane%00phone%00${pad(old)}`]) {
        const res = await hub.http(`/api/0/locations?user=${u}&device=${d}&from=0&to=99999999998`, fred)
        assert.ok([400, 403].includes(res.status), `user=${u} device=${d}: ${res.status}`)
      }
    }
    const fair = (await (await hub.http('/api/0/locations?user=jane&device=phone&from=0&to=99999999998', fred)).json()) as { data: Msg[] }
    assert.deepEqual(fair.data.map((m) => m.tst), [now - 60], 'only the last 7 days')
    const owner = (await (await hub.http('/api/0/locations?user=jane&device=phone&from=0&to=99999999998', { user: 'jane', password: pw('jane') })).json()) as { data: Msg[] }
    assert.deepEqual(owner.data.map((m) => m.tst), [old, now - 60], 'jane reads all of hers')
  })

  test('names in HTTP mode headers, /api/0/last and /api/card are checked the same way', async () => {
    const post = await hub.http('/pub', { user: 'jane', password: pw('jane'), method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'jane', 'x-limit-d': 'ph\u0001one' }, body: JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst: now }) }).catch((e: Error) => e)
    // fetch itself refuses a control character in a header; a raw client gets the hub's 400.
    if (post instanceof Response) assert.equal(post.status, 400)
    assert.equal((await hub.http('/pub?d=ph%00one', { user: 'jane', password: pw('jane'), method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst: now }) })).status, 400)
    assert.equal((await hub.http('/api/0/last?device=phone%00', fred)).status, 400)
    assert.equal((await hub.http('/api/card?user=jane%00', fred)).status, 400)
  })

  test('format=__proto__ or constructor is a 400 naming the formats, not a 500', async () => {
    for (const f of ['__proto__', 'constructor', 'toString', 'nope']) {
      const res = await hub.http(`/api/0/locations?user=jane&device=phone&format=${f}`, fred)
      assert.equal(res.status, 400, f)
      assert.match(((await res.json()) as { error: string }).error, /is not one of json, geojson/)
    }
  })
})

describe('one admin decision: an admin named only in sharing.yml gets what a users-file admin gets', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub()
    assert.equal((await runCli(['user', 'add', 'root', '--password', pw('root'), '--admin', '--data', hub.dataDir])).code, 0)
    await addUsers(hub, 'boss', 'fred', 'zoe')
    await writeRules(hub, 'admins: [boss]\n')
    const zoe = await phone(hub.mqttPort, 'zoe', pw('zoe'), 'watch')
    await zoe.publishAsync('owntracks/zoe/watch', JSON.stringify({ _type: 'location', lat: 1, lon: 2, tst: Math.floor(Date.now() / 1000) }), { qos: 1, retain: true })
    await zoe.endAsync()
  })
  after(async () => { await hub?.stop() })

  for (const [who, admin] of [['root', true], ['boss', true], ['fred', false]] as const) {
    test(`${who}: ${admin ? 'everything an admin gets' : 'none of it'}`, async () => {
      const as = { user: who, password: pw(who) }
      const want = admin ? 200 : 403
      assert.equal((await hub.http('/metrics', as)).status, want, '/metrics')
      assert.equal((await hub.http('/api/users', as)).status, want, '/api/users')
      const session = await signIn(hub, who, pw(who))
      const me = (await (await session.http('/session')).json()) as { admin: boolean }
      assert.equal(me.admin, admin, 'the map shows admin controls by /session')
      const signin = await fetch(`http://127.0.0.1:${hub.httpPort}/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: who, password: pw(who) }) })
      assert.equal(((await signin.json()) as { admin: boolean }).admin, admin, 'the sign-in answer')
      assert.equal((await hub.http('/api/0/last?user=zoe', as).then((r) => r.json()) as Msg[]).length, admin ? 1 : 0, 'reads everyone')
      const sub = await Receiver.connect(hub, who, { clientId: `${who}-admin` })
      await sub.subscribe('owntracks/zoe/#')
      // aedes sends retained messages after the SUBACK, from its store: wait for the one expected.
      if (admin) await waitFor('zoe\'s retained location', () => sub.messages().length === 1)
      assert.equal(sub.messages().length, admin ? 1 : 0, 'MQTT: reads everyone')
      await sub.end()
      if (who !== 'root') assert.equal((await hub.http('/api/0/kill?user=zoe&device=watch', as)).status, want, '/api/0/kill')
    })
  }
})
