import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { card, loc, seedHistory } from '../helpers/history.js'
import { as, createUsers } from '../helpers/users.js'
import { client, collect, location } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'

type Msg = Record<string, unknown>

describe('HTTP mode: a phone POSTing to /pub as the OwnTracks app does', () => {
  let hub: RunningHub
  let root: string
  const now = Math.floor(Date.now() / 1000)

  /** What the app sends: JSON body, Basic auth, X-Limit-U/X-Limit-D naming the user and device. */
  const post = (body: string | Msg, o: { user?: string; password?: string; u?: string; d?: string; path?: string } = {}) => {
    const user = o.user ?? 'jane'
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (o.u !== '') headers['X-Limit-U'] = o.u ?? user
    if (o.d !== '') headers['X-Limit-D'] = o.d ?? 'phone'
    return hub.http(o.path ?? '/pub', { user, password: o.password ?? `${user}-pw`, method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) })
  }
  /** An admin's MQTT subscription, emptied of the retained messages it starts with. */
  const watch = async (filter: string) => {
    const r = await Receiver.connect(hub, 'admin')
    await r.subscribe(filter)
    r.clear()
    return { r, live: r.got, end: () => r.end() }
  }
  const answer = async (res: Response): Promise<Msg[]> => {
    assert.equal(res.status, 200, await res.clone().text())
    return res.json() as Promise<Msg[]>
  }

  before(async () => {
    root = tempDir()
    mkdirSync(join(root, 'acl'), { recursive: true })
    writeFileSync(join(root, 'acl', 'family.acl'), 'user jane\ntopic read owntracks/fred/phone/#\n')
    await createUsers(join(root, 'data'), { admin: { admin: true }, jane: {}, fred: {} })
    await seedHistory(join(root, 'data'), [[
      loc('fred', 'phone', now - 60, { tid: 'fr' }), card('fred', 'phone', 'Fred', 'iVBORw0KGgo='),
      loc('fred', 'tablet', now - 60, { tid: 'ft' }),
    ]])
    hub = await startHub({ dataDir: join(root, 'data'), aclDir: join(root, 'acl') })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  test("jane's location is stored, published retained for MQTT friends, and the answer holds her friends' cards and locations", async () => {
    const { live, end } = await watch('owntracks/#')
    const sent = location({ tid: 'ja', lat: 51.5, lon: -0.12, tst: now - 5, topic: 'owntracks/jane/phone' })
    const got = await answer(await post(sent))
    assert.deepEqual(got, [
      { _type: 'card', name: 'Fred', face: 'iVBORw0KGgo=', tid: 'fr', topic: 'owntracks/fred/phone' },
      { ...loc('fred', 'phone', now - 60, { tid: 'fr' }).message, topic: 'owntracks/fred/phone' },
    ], "fred's phone only: not his tablet, not jane's own phone")
    await waitFor('the MQTT delivery', () => live.some((m) => m.topic === 'owntracks/jane/phone'))
    assert.deepEqual(live.filter((m) => m.topic.startsWith('owntracks/jane')), [{ topic: 'owntracks/jane/phone', payload: JSON.stringify(sent), retain: false }])
    await end()

    const late = await Receiver.connect(hub, 'fred')
    // A plain topic fred may never read is refused in the SUBACK (0x80), so nothing retained can follow.
    assert.deepEqual(await late.subscribe('owntracks/jane/phone'), [0x80], 'fred may not read jane: the ACL applies to HTTP-mode messages too')
    assert.deepEqual(late.messages(), [])
    await late.end()
    const admin = await client(hub.mqttPort, 'admin', 'admin-pw')
    const r2 = collect(admin)
    await admin.subscribeAsync('owntracks/jane/phone', { qos: 1 })
    await waitFor('the retained location', () => r2.length === 1)
    assert.deepEqual(r2[0], { topic: 'owntracks/jane/phone', payload: JSON.stringify(sent), retain: true })
    await admin.endAsync()

    const hist = await (await hub.http('/api/0/locations?user=jane&device=phone&limit=1', as('jane'))).json() as { data: Msg[] }
    assert.equal(hist.data[0].lat, 51.5)
  })

  test("the Recorder's URL form ?u=&d= works too, and other types go to their subtopic, not retained", async () => {
    const { live, end } = await watch('owntracks/jane/#')
    const transition = { _type: 'transition', event: 'enter', desc: 'Work', tst: now - 3, lat: 51.5, lon: -0.1, acc: 10, t: 'c' }
    await answer(await post(transition, { path: '/pub?u=jane&d=phone', u: '', d: '' }))
    await waitFor('the transition', () => live.length === 1)
    assert.deepEqual(live[0], { topic: 'owntracks/jane/phone/event', payload: JSON.stringify(transition), retain: false })
    await end()
  })

  test('a command queued through the API reaches the device once: in the next answer, and over MQTT', async () => {
    const { live, end } = await watch('owntracks/jane/phone/cmd')
    const cmd = { _type: 'cmd', action: 'reportLocation' }
    const queued = await hub.http('/api/0/cmd?user=jane&device=phone', { ...as('admin'), method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(cmd) })
    assert.equal(queued.status, 200)
    assert.deepEqual(await queued.json(), { status: 200, topic: 'owntracks/jane/phone/cmd', queued: true })
    await waitFor('the MQTT cmd', () => live.length === 1)
    assert.deepEqual(live[0], { topic: 'owntracks/jane/phone/cmd', payload: JSON.stringify(cmd), retain: false })
    await end()

    const first = await answer(await post(location({ tid: 'ja', tst: now - 2 })))
    assert.deepEqual(first.filter((m) => m._type === 'cmd'), [cmd])
    assert.equal(first[first.length - 1]._type, 'cmd', 'after the friends')
    const second = await answer(await post(location({ tid: 'ja', tst: now - 1 })))
    assert.deepEqual(second.filter((m) => m._type === 'cmd'), [], 'delivered once')
    const otherDevice = await answer(await post(location({ tid: 'jt', tst: now - 1 }), { d: 'tablet' }))
    assert.deepEqual(otherDevice.filter((m) => m._type === 'cmd'), [])
  })

  test('queuing a command needs write access to its topic, and a cmd body', async () => {
    const cmd = JSON.stringify({ _type: 'cmd', action: 'dump' })
    const send = (path: string, who: { user: string; password: string }, body = cmd) => hub.http(path, { ...who, method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
    assert.equal((await send('/api/0/cmd?user=fred&device=phone', as('jane'))).status, 403)
    assert.equal((await send('/api/0/cmd?user=jane&device=phone', as('jane'))).status, 200, 'her own phone')
    const bad = await send('/api/0/cmd?user=jane&device=phone', as('jane'), JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst: now }))
    assert.equal(bad.status, 400)
    assert.match((await bad.json() as { error: string }).error, /expected a message with _type 'cmd'/)
    assert.match((await (await send('/api/0/cmd?user=jane', as('jane'))).json() as { error: string }).error, /parameter 'device' is required/)
    await answer(await post(location({ tid: 'ja', tst: now - 1 }))) // takes jane's dump out of the queue
  })

  test('malformed JSON: 400 with the reason, logged, nothing published or stored', async () => {
    const { r, end } = await watch('owntracks/jane/#')
    const cases: [string, RegExp][] = [
      ['{"_type":"location","lat":1,', /^body is not valid JSON/],
      ['hello world', /^body is not valid JSON/],
      ['[1,2]', /^body is JSON but not an object \(got array\)/],
      ['{"lat":1}', /^no _type in the message/],
      ['{"_type":"pizza"}', /^unknown _type 'pizza'/],
      ['{"_type":"constructor"}', /^unknown _type 'constructor'/],
    ]
    for (const [body, why] of cases) {
      const res = await post(body)
      assert.equal(res.status, 400, body)
      assert.match((await res.json() as { error: string }).error, why, body)
    }
    assert.match(hub.logs(), /HTTP mode: refused POST \/pub for jane\/phone from jane: body is not valid JSON/)
    assert.doesNotMatch(hub.logs(), /hello world/, 'payloads are never logged')
    await r.settle()
    assert.deepEqual(r.messages(), [])
    await end()
  })

  test('a valid JSON message the decoder refuses is handled as over MQTT: delivered, not stored, logged', async () => {
    const res = await post({ _type: 'location', lat: 200, lon: 2, tst: now })
    assert.equal(res.status, 200)
    await hub.waitForLog(/Invalid OwnTracks payload from http:jane on 'owntracks\/jane\/phone': location: lat 200 out of range/)
    const hist = await (await hub.http('/api/0/locations?user=jane&device=phone&limit=10', as('jane'))).json() as { data: Msg[] }
    assert.ok(hist.data.every((p) => p.lat !== 200))
  })

  test('only the authenticated user may post as themselves; an admin may post for others', async () => {
    const forged = await post(location({ tst: now }), { u: 'fred' })
    assert.equal(forged.status, 403)
    assert.match((await forged.json() as { error: string }).error, /authenticated as 'jane', not 'fred'/)
    assert.match(hub.logs(), /HTTP mode: refused POST \/pub for fred\/phone from jane: authenticated as 'jane', not 'fred'/)
    const byAdmin = await answer(await post(location({ tid: 'fr', lat: 33, tst: now }), { user: 'admin', u: 'fred', d: 'phone' }))
    assert.deepEqual(byAdmin.map((m) => `${m._type} ${m.topic}`), ['location owntracks/fred/tablet'], "fred's view: his other device")
    const last = await (await hub.http('/api/0/last?user=fred&device=phone', as('admin'))).json() as Msg[]
    assert.equal(last[0].lat, 33)
  })

  test('no device, bad names, or bad credentials are refused', async () => {
    assert.equal((await post(location(), { d: '' })).status, 400)
    assert.match((await (await post(location(), { d: '' })).json() as { error: string }).error, /no device given/)
    assert.equal((await post(location(), { d: 'a+b' })).status, 400)
    assert.equal((await post(location(), { password: 'wrong' })).status, 401)
  })
})
