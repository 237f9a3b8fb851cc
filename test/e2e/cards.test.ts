import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { loadConfig } from '../../src/config.js'
import { Hub } from '../../src/hub.js'
import { createLogger } from '../../src/log.js'
import { startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { addUsers, as } from '../helpers/users.js'
import { readPicture, solidJpeg } from '../helpers/images.js'

describe('cards: set through the API, published retained to each device, seen only by those who may', () => {
  let hub: RunningHub
  before(async () => {
    const root = tempDir()
    const aclDir = join(root, 'acl')
    mkdirSync(aclDir, { recursive: true })
    // Sharing rules are another part of the hub; a Mosquitto acl file grants fred read access to jane here.
    writeFileSync(join(aclDir, 'family.acl'), 'user fred\ntopic read owntracks/jane/#\n')
    hub = await startHub({ dataDir: join(root, 'data'), aclDir })
    await addUsers(hub, 'jane', 'fred', 'bob')
    const p = await phone(hub.mqttPort, 'jane', 'jane-pw')
    await p.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'jj' })), { qos: 1, retain: true })
    await p.endAsync()
  })
  after(async () => { await hub?.stop() })

  test('jane uploads her name and a photo; the card on owntracks/jane/phone/info has a 128×128 PNG face', async () => {
    const photo = solidJpeg(640, 480, 0x3366ccff)
    const form = new FormData()
    form.set('name', 'Jane Jolie')
    form.set('face', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'me.jpg')
    const res = await hub.http('/api/card', { ...as('jane'), method: 'PUT', body: form })
    assert.equal(res.status, 200, await res.clone().text())
    const body = await res.json() as { card: { name: string; face: string }; published: string[] }
    assert.deepEqual(body.published, ['owntracks/jane/phone/info'])
    const face = readPicture(Buffer.from(body.card.face, 'base64'))
    assert.deepEqual([face.width, face.height, face.mime], [128, 128, 'image/png'])

    const admin = await Receiver.connect(hub, 'admin')
    await admin.subscribe('owntracks/+/+/info')
    const got = admin.messages()
    assert.equal(got.length, 1)
    assert.equal(got[0].retain, true)
    assert.deepEqual(JSON.parse(got[0].payload), { _type: 'card', name: 'Jane Jolie', face: body.card.face })
    await admin.end()
  })

  test('fred, whom an acl rule lets read jane, gets her card; bob gets nothing of hers (MQTT and API)', async () => {
    const fred = await Receiver.connect(hub, 'fred')
    const bob = await Receiver.connect(hub, 'bob')
    await fred.subscribe('owntracks/+/+/info')
    await bob.subscribe('owntracks/+/+/info')
    assert.deepEqual(fred.messages().map((m) => [m.topic, (JSON.parse(m.payload) as { name: string }).name]), [['owntracks/jane/phone/info', 'Jane Jolie']])
    assert.deepEqual(bob.messages(), [])
    await Promise.all([fred.end(), bob.end()])

    const fredApi = await hub.http('/api/card?user=jane', as('fred'))
    assert.equal(fredApi.status, 200)
    assert.equal((await fredApi.json() as { name: string }).name, 'Jane Jolie')
    assert.equal((await hub.http('/api/card?user=jane', as('bob'))).status, 403)
    const last = await (await hub.http('/api/0/last?user=jane', as('fred'))).json() as { name?: string; face?: string }[]
    assert.equal(last[0].name, 'Jane Jolie', 'the Recorder API shows the card with the location')
    assert.deepEqual(await (await hub.http('/api/0/last?user=jane', as('bob'))).json(), [])
  })

  test("a phone jane adds later gets her card with its first location", async () => {
    const tablet = await phone(hub.mqttPort, 'jane', 'jane-pw', 'tablet')
    await tablet.publishAsync('owntracks/jane/tablet', JSON.stringify(location({ tid: 'jt' })), { qos: 1 })
    await tablet.endAsync()
    await waitFor('the card on the tablet', async () => {
      const last = await (await hub.http('/api/0/last?user=jane&device=tablet', as('jane'))).json() as { name?: string }[]
      return last[0]?.name === 'Jane Jolie'
    })
  })

  test("the name alone can change (JSON); bob may not change jane's card; a file that is no picture is refused", async () => {
    const res = await hub.http('/api/card', { ...as('jane'), method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Jane J.' }) })
    assert.equal(res.status, 200)
    const card = (await res.json() as { card: { name: string; face?: string } }).card
    assert.equal(card.name, 'Jane J.')
    assert.ok(card.face, 'the face stays')
    const bob = await hub.http('/api/card?user=jane', { ...as('bob'), method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'hacked' }) })
    assert.equal(bob.status, 403)
    const bad = await hub.http('/api/card', { ...as('jane'), method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ face: Buffer.from('not a picture').toString('base64') }) })
    assert.equal(bad.status, 400)
    assert.match((await bad.json() as { error: string }).error, /face: not a PNG or JPEG image/)
    assert.equal(((await (await hub.http('/api/card', as('jane'))).json()) as { name: string }).name, 'Jane J.')
  })
})

/** A hub in this process, so the test can look into its HTTP-mode command queue. */
async function hubInProcess(): Promise<{ hub: Hub; mqtt: number; http: (path: string, user: string, body: unknown) => Promise<Response> }> {
  const root = tempDir()
  const cfg = loadConfig({ data: join(root, 'data'), aclDir: join(root, 'acl'), host: '127.0.0.1', mqttPort: 0, httpPort: 0, mqttsPort: 0, httpsPort: 0 }, {})
  const hub = new Hub(cfg, createLogger({ logLevel: 'warn', logFormat: 'text' }, new Writable({ write: (_c, _e, cb) => cb() })))
  const l = await hub.start()
  for (const u of ['jane', 'fred']) await hub.users.set(u, `${u}-pw`)
  const http = (path: string, user: string, body: unknown) => fetch(`http://127.0.0.1:${l.http.port}${path}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`${user}:${user}-pw`).toString('base64') },
  })
  return { hub, mqtt: l.mqtt.port, http }
}

describe('commands: POST /api/0/cmd reaches an MQTT phone at QoS 1 and waits for an HTTP-mode phone', () => {
  let h: Awaited<ReturnType<typeof hubInProcess>>
  before(async () => {
    h = await hubInProcess()
    // jane's phone speaks MQTT; her watch is in HTTP mode (its posts arrive through the same ingest)
    await h.hub.ingest.handle('owntracks/jane/watch', Buffer.from(JSON.stringify(location({ tid: 'jw' }))), 'http')
  })
  after(async () => { await h?.hub.stop() })

  test('reportLocation: the phone subscribed to its cmd topic gets it (QoS 1, not retained), the watch finds it queued once', async () => {
    const p = await phone(h.mqtt, 'jane', 'jane-pw')
    const got: { topic: string; payload: string; qos: number; retain: boolean }[] = []
    p.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }))
    await p.subscribeAsync('owntracks/jane/phone/cmd', { qos: 1 })
    await p.publishAsync('owntracks/jane/phone', JSON.stringify(location()), { qos: 1 })
    const res = await h.http('/api/0/cmd?user=jane&device=phone', 'jane', { _type: 'cmd', action: 'reportLocation' })
    assert.equal(res.status, 200, await res.clone().text())
    await waitFor('the cmd on the phone', () => got.length === 1)
    assert.deepEqual(got, [{ topic: 'owntracks/jane/phone/cmd', payload: '{"_type":"cmd","action":"reportLocation"}', qos: 1, retain: false }])
    await p.endAsync()

    const w = await h.http('/api/0/cmd?user=jane&device=watch', 'jane', { _type: 'cmd', action: 'reportLocation' })
    assert.equal(w.status, 200)
    assert.deepEqual(h.hub.commands.take('jane', 'watch'), [{ _type: 'cmd', action: 'reportLocation' }])
    assert.deepEqual(h.hub.commands.take('jane', 'watch'), [], 'handed out once')
  })

  test('setWaypoints with a list is sent as the apps expect it', async () => {
    const res = await h.http('/api/0/cmd?user=jane&device=watch', 'jane', { _type: 'cmd', action: 'setWaypoints', waypoints: [{ desc: 'Home', lat: 1, lon: 2, rad: 50, tst: 1700000000 }] })
    assert.equal(res.status, 200)
    assert.deepEqual(h.hub.commands.take('jane', 'watch'), [{ _type: 'cmd', action: 'setWaypoints', waypoints: { _type: 'waypoints', waypoints: [{ desc: 'Home', lat: 1, lon: 2, rad: 50, tst: 1700000000 }] } }])
  })

  test("fred may not command jane's devices until an acl rule lets him write her cmd topics", async () => {
    const denied = await h.http('/api/0/cmd?user=jane&device=watch', 'fred', { _type: 'cmd', action: 'reportLocation' })
    assert.equal(denied.status, 403)
    assert.deepEqual(h.hub.commands.take('jane', 'watch'), [])
    mkdirSync(h.hub.cfg.aclDir, { recursive: true })
    writeFileSync(join(h.hub.cfg.aclDir, 'fred.acl'), 'user fred\ntopic write owntracks/jane/+/cmd\n')
    assert.ok(h.hub.access.load())
    assert.equal((await h.http('/api/0/cmd?user=jane&device=watch', 'fred', { _type: 'cmd', action: 'dump' })).status, 200)
    assert.deepEqual(h.hub.commands.take('jane', 'watch'), [{ _type: 'cmd', action: 'dump' }])
  })

  test('mistakes are named: unknown action, missing fields, unknown device', async () => {
    const bad = await h.http('/api/0/cmd?user=jane&device=watch', 'jane', { _type: 'cmd', action: 'selfDestruct' })
    assert.equal(bad.status, 400)
    assert.match((await bad.json() as { error: string }).error, /'action' must be one of reportLocation, dump, .*setWaypoints/)
    const noWp = await h.http('/api/0/cmd?user=jane&device=watch', 'jane', { _type: 'cmd', action: 'setWaypoints' })
    assert.match((await noWp.json() as { error: string }).error, /action setWaypoints: needs 'waypoints'/)
    const nobody = await h.http('/api/0/cmd?user=jane&device=toaster', 'jane', { _type: 'cmd', action: 'reportLocation' })
    assert.equal(nobody.status, 404)
  })
})
