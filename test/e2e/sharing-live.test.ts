import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

const HOME = { lat: 48.858370, lon: 2.294481 }
const REVEALING = { SSID: 'JaneHome', BSSID: 'aa:bb:cc:dd:ee:ff', inregions: ['Home'], inrids: ['r1'], addr: '5 Avenue Anatole France', poi: 'Tour Eiffel' }
const KM_LAT = 1000 / 111_320

const RULES = `# the family
groups:
  parents: [jane, fred]   # see each other fully
shares:
  # grandma sees roughly where jane is, now, and nothing of her past
  - from: jane
    to: grandma
    precision: 1km
    history: false
commands:
  - from: fred
    to: kid
    devices: [phone]
`

const WITHOUT_GRANDMA = RULES.replace(/  # grandma sees[\s\S]*history: false\n/, '')

/** A location seen through a 1 km share: inside the cell around the fix, accuracy raised, nothing revealing. */
function assertBlurred(payload: string, exact: { lat: number; lon: number }): Record<string, unknown> {
  assert.ok(!payload.includes(String(exact.lat)) && !payload.includes(String(exact.lon)), `exact coordinates leaked: ${payload}`)
  const m = JSON.parse(payload) as Record<string, unknown>
  const lat = m.lat as number
  const lon = m.lon as number
  assert.ok(Math.abs(lat - exact.lat) <= KM_LAT / 2, `lat ${lat} is within the 1 km row of ${exact.lat}`)
  const kmLon = KM_LAT / Math.cos((lat * Math.PI) / 180)
  assert.ok(Math.abs(lon - exact.lon) <= kmLon / 2, `lon ${lon} is within the 1 km column of ${exact.lon}`)
  assert.ok((m.acc as number) >= 700, `acc raised to the cell (${m.acc})`)
  for (const f of Object.keys(REVEALING)) assert.equal(m[f], undefined, `${f} removed`)
  return m
}

describe('sharing rules over MQTT, applied while everyone stays connected', () => {
  let hub: RunningHub
  let jane: MqttClient
  let fred: Receiver
  let kid: Receiver
  let grandma: Receiver
  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'jane', 'fred', 'kid', 'grandma')
    assert.match(await writeRules(hub, RULES), /Reloaded access rules/)
    jane = await phone(hub.mqttPort, 'jane', pw('jane'))
  })
  after(async () => {
    await Promise.all([jane, fred?.mqtt, kid?.mqtt, grandma?.mqtt].map((c) => c?.endAsync()))
    await hub?.stop()
  })

  test('a group: fred and jane see each other; kid, in no group, sees neither', async () => {
    fred = await Receiver.connect(hub, 'fred')
    kid = await Receiver.connect(hub, 'kid')
    const janeSees = await Receiver.connect(hub, 'jane', { clientId: 'jane-map' })
    await Promise.all([fred, kid, janeSees].map((r) => r.subscribe('owntracks/+/+')))
    const fredPhone = await phone(hub.mqttPort, 'fred', pw('fred'))
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja', ...HOME })), { qos: 1, retain: true })
    await fredPhone.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr' })), { qos: 1, retain: true })
    await Promise.all([fred, kid, janeSees].map((r) => r.settle()))
    assert.deepEqual(fred.topics(), ['owntracks/jane/phone', 'owntracks/fred/phone'])
    assert.deepEqual(janeSees.topics(), ['owntracks/jane/phone', 'owntracks/fred/phone'])
    assert.deepEqual(kid.topics(), [], 'kid receives nothing of jane or fred')
    await Promise.all([fredPhone.endAsync(), janeSees.end()])
  })

  test('precision: grandma gets jane blurred to 1 km — retained and live — without revealing fields, events or unreadable payloads', async () => {
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja', ...HOME, ...REVEALING, tst: 1_700_000_000 })), { qos: 1, retain: true })
    grandma = await Receiver.connect(hub, 'grandma')
    await grandma.subscribe('owntracks/+/+', 'owntracks/+/+/event', 'owntracks/+/+/info')
    const retained = grandma.messages()
    assert.deepEqual(retained.map((m) => [m.topic, m.retain]), [['owntracks/jane/phone', true]], "the retained location of jane only, not fred's")
    const r = assertBlurred(retained[0].payload, HOME)
    assert.equal(r.tst, 1_700_000_000)
    assert.equal(r.batt, 81, 'other fields are kept')

    fred.clear()
    grandma.clear()
    const live = { ...HOME, lat: 48.8611, lon: 2.3364 }
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja', ...live, ...REVEALING })), { qos: 1, retain: true })
    await jane.publishAsync('owntracks/jane/phone/event', JSON.stringify({ _type: 'transition', event: 'leave', desc: 'Home', lat: HOME.lat, lon: HOME.lon, tst: 1, acc: 5, wtst: 1 }), { qos: 1 })
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify({ _type: 'encrypted', data: 'c2VjcmV0' }), { qos: 1 })
    await jane.publishAsync('owntracks/jane/phone', 'not json', { qos: 1 })
    await jane.publishAsync('owntracks/jane/phone/info', JSON.stringify({ _type: 'card', name: 'Jane' }), { qos: 1, retain: true })
    await Promise.all([grandma.settle(), fred.settle()])
    assert.deepEqual(grandma.topics(), ['owntracks/jane/phone', 'owntracks/jane/phone/info'])
    assertBlurred(grandma.messages()[0].payload, live)
    assert.equal(JSON.parse(grandma.messages()[1].payload).name, 'Jane', 'the card passes unchanged')
    // fred received the very same publish exactly: the shared packet was copied, never changed
    const fredLive = fred.messages().filter((m) => m.topic === 'owntracks/jane/phone')
    assert.deepEqual(fredLive.map((m) => m.payload.startsWith('{') ? JSON.parse(m.payload)._type : m.payload), ['location', 'encrypted'],
      'fred (exact share) gets the location and the encrypted one; a payload that is no OwnTracks message is no location to share')
    assert.equal(JSON.parse(fredLive[0].payload).lat, live.lat)
    assert.equal(JSON.parse(fredLive[0].payload).SSID, 'JaneHome')
  })

  test('HTTP answers apply the same view: blurred last, no history for a live-only share, 403 for what is not shared', async () => {
    const as = { user: 'grandma', password: pw('grandma') }
    const list = await (await hub.http('/api/0/list', as)).json() as { results: string[] }
    assert.deepEqual(list.results, ['jane'])
    const last = await (await hub.http('/api/0/last', as)).json() as Record<string, unknown>[]
    assert.deepEqual(last.map((l) => l.username), ['jane'])
    assertBlurred(JSON.stringify({ ...last[0], isotst: undefined, disptst: undefined }), { lat: 48.8611, lon: 2.3364 })
    const hist = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01', as)).json() as { count: number }
    assert.equal(hist.count, 0, 'history: false — live only')
    assert.equal((await hub.http('/api/0/locations?user=fred&device=phone&limit=5', as)).status, 403)
    const fredHist = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01', { user: 'fred', password: pw('fred') })).json() as { count: number; data: { lat: number }[] }
    assert.ok(fredHist.count >= 2, 'fred, in the group, reads the history exactly')
    assert.ok(fredHist.data.some((l) => l.lat === HOME.lat))
  })

  test('a persistent session gets its offline queue blurred too when it comes back', async () => {
    const tablet = await Receiver.connect(hub, 'grandma', { clientId: 'grandma-tablet', clean: false })
    await tablet.subscribe('owntracks/jane/+')
    await tablet.end()
    const away = { lat: 43.2965, lon: 5.3698 }
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja', ...away, ...REVEALING, tst: 1_700_000_100 })), { qos: 1 })
    const back = await Receiver.connect(hub, 'grandma', { clientId: 'grandma-tablet', clean: false })
    try {
      const queued = await waitFor('the queued location', () => back.messages().find((m) => m.payload.includes('1700000100')))
      assert.equal(back.messages().filter((m) => m.topic === 'owntracks/jane/phone').length, 1)
      assertBlurred(queued.payload, away)
    } finally { await back.end() }
  })

  test('commands: fred may ask kid\'s phone to reportLocation; jane may not, and fred may not reach kid\'s tablet or write kid\'s location', async () => {
    const kidPhone = await Receiver.connect(hub, 'kid', { clientId: 'kidphone' })
    await kidPhone.subscribe('owntracks/kid/#')
    const cmd = JSON.stringify({ _type: 'cmd', action: 'reportLocation' })
    const fredPhone = await phone(hub.mqttPort, 'fred', pw('fred'))
    await fredPhone.publishAsync('owntracks/kid/phone/cmd', cmd, { qos: 1 })
    await jane.publishAsync('owntracks/kid/phone/cmd', JSON.stringify({ _type: 'cmd', action: 'dump' }), { qos: 1 })
    await fredPhone.publishAsync('owntracks/kid/tablet/cmd', cmd, { qos: 1 })
    await fredPhone.publishAsync('owntracks/kid/phone', JSON.stringify(location({ tid: 'xx' })), { qos: 1 })
    await kidPhone.settle()
    assert.deepEqual(kidPhone.messages().map((m) => [m.topic, m.payload]), [['owntracks/kid/phone/cmd', cmd]])
    assert.match(hub.logs(), /Denied PUBLISH from janephone \(d0, q1, r0, m\d+, 'owntracks\/kid\/phone\/cmd'/)
    assert.match(hub.logs(), /Denied PUBLISH from fredphone \(d0, q1, r0, m\d+, 'owntracks\/kid\/tablet\/cmd'/)
    await Promise.all([kidPhone.end(), fredPhone.endAsync()])
  })

  test('revoked while subscribed: grandma stops receiving jane at once, her connection stays', async () => {
    assert.doesNotMatch(WITHOUT_GRANDMA, /grandma\n/)
    const line = await writeRules(hub, WITHOUT_GRANDMA)
    assert.match(line, /Reloaded access rules/)
    grandma.clear()
    fred.clear()
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja', ...HOME })), { qos: 1, retain: true })
    await Promise.all([grandma.settle(), fred.settle()])
    assert.deepEqual(grandma.topics(), [], 'nothing of jane after the revoke')
    assert.ok(grandma.mqtt.connected)
    assert.deepEqual(fred.topics(), ['owntracks/jane/phone'], 'the group still works')
    const last = await (await hub.http('/api/0/last', { user: 'grandma', password: pw('grandma') })).json() as unknown[]
    assert.deepEqual(last, [], 'nor over HTTP')
  })

  test('a bad rules file is refused with file, line and reason; the last good rules stay in force', async () => {
    const line = await writeRules(hub, RULES.replace('parents: [jane, fred]', 'parents: [jane, fredd]'))
    assert.match(line, /sharing\.yml line 3: unknown person 'fredd' \(known: [^)]*fred[^)]*\).*; the previous access rules stay in force/)
    const line2 = await writeRules(hub, 'shares:\n  - from: jane\n    to: fred\n    precision: 1 mile\n')
    assert.match(line2, /sharing\.yml line 4: precision: '1 mile' is not a precision; say e\.g\. 500m, 1km, geohash 5, or place/)
    const line3 = await writeRules(hub, 'shares: [\n')
    assert.match(line3, /sharing\.yml line \d+: not valid YAML/)
    fred.clear()
    grandma.clear()
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja' })), { qos: 1 })
    await Promise.all([grandma.settle(), fred.settle()])
    assert.deepEqual(fred.topics(), ['owntracks/jane/phone'], 'the group from the last good file still applies')
    assert.deepEqual(grandma.topics(), [], 'and the revoke too')
  })

  test('a time box ends at its instant, during a live subscription, without any file change', async () => {
    const until = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000)
    const stamp = until.toISOString().replace('.000Z', 'Z')
    assert.match(await writeRules(hub, WITHOUT_GRANDMA.replace('shares:\n', `shares:\n  - from: kid\n    to: grandma\n    until: ${stamp}\n`)), /Reloaded/)
    const kidPhone = await phone(hub.mqttPort, 'kid', pw('kid'))
    grandma.clear()
    await kidPhone.publishAsync('owntracks/kid/phone', JSON.stringify(location({ tid: 'ki' })), { qos: 1 })
    await grandma.settle()
    assert.deepEqual(grandma.topics(), ['owntracks/kid/phone'], 'shared until the instant')
    const mtime = statSync(join(hub.aclDir, 'sharing.yml')).mtimeMs
    await new Promise((r) => setTimeout(r, Math.max(0, until.getTime() - Date.now()) + 50))
    grandma.clear()
    await kidPhone.publishAsync('owntracks/kid/phone', JSON.stringify(location({ tid: 'ki' })), { qos: 1 })
    await grandma.settle()
    assert.deepEqual(grandma.topics(), [], 'nothing after it')
    assert.ok(grandma.mqtt.connected)
    assert.equal(statSync(join(hub.aclDir, 'sharing.yml')).mtimeMs, mtime, 'the file was not touched')
    await hub.waitForLog(/Share ended: kid's devices shared with grandma .*until/)
    const last = await (await hub.http('/api/0/last', { user: 'grandma', password: pw('grandma') })).json() as unknown[]
    assert.deepEqual(last, [], 'HTTP too')
    await kidPhone.endAsync()
  })
})
