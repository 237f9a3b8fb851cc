import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { metric, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { ATTACKER, connackFrom } from '../helpers/flood.js'
import { client, collect, location } from '../helpers/phone.js'
import { signIn } from '../helpers/session.js'
import { addUsers } from '../helpers/users.js'
import { PacketReader, WireClient, wire } from '../helpers/wire.js'


describe('a hostile user: client ids, sessions, kill, subscribe filters, names, devices', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub({ args: ['--max-devices-per-user', '5', '--max-sessions-per-user', '20'] })
    await addUsers(hub, 'jane', 'fred')
  })
  after(async () => { await hub?.stop() })

  test("fred cannot take over, disconnect or drain jane's session with her phone's client id (CONNACK 2); jane still gets her queued commands", async () => {
    // jane's phone: a persistent session subscribed to its commands, then offline.
    const phone = await WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'jane', password: 'jane-pw', clean: false })
    await phone.subscribe('owntracks/jane/phone/cmd', 1)
    await phone.close()
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    for (let i = 1; i <= 3; i++) await admin.publishAsync('owntracks/jane/phone/cmd', JSON.stringify({ _type: 'cmd', action: 'reportLocation', n: i }), { qos: 1 })

    // fred, with jane's client id: persistent, then clean; neither gets her session
    await assert.rejects(WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'fred', password: 'fred-pw', clean: false }), /CONNACK 2/)
    await assert.rejects(WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'fred', password: 'fred-pw', clean: true }), /CONNACK 2/)
    await hub.waitForLog(/Client janephone disconnected, identifier rejected \(client id 'janephone' belongs to another user; each phone needs its own client id\)/)

    const got: string[] = []
    const back = await WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'jane', password: 'jane-pw', clean: false })
    back.onMessage = (m) => got.push(JSON.parse(m.payload.toString()).n)
    await waitFor('the three queued commands', () => got.length >= 3)
    assert.deepEqual(got, [1, 2, 3], 'all three, none consumed by fred')

    // While jane is connected, fred reconnecting in a loop does not push her off.
    for (let i = 0; i < 20; i++) await assert.rejects(WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'fred', password: 'fred-pw', clean: i % 2 === 0 }), /CONNACK 2/)
    let closed = false
    void back.closed.then(() => { closed = true })
    assert.equal(await back.publish('owntracks/jane/phone', JSON.stringify(location())), true, 'her connection still works')
    assert.equal(closed, false)
    assert.ok(await metric(hub, 'othub_mqtt_client_id_refused_total') >= 22)

    // jane herself may always take over her own session, as MQTT requires.
    const again = await WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'jane', password: 'jane-pw', clean: false })
    await back.closed
    await again.close()
    await admin.endAsync()
  })

  test("the owner of a persistent session's client id survives a restart", async () => {
    hub = await hub.restart()
    await assert.rejects(WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'fred', password: 'fred-pw', clean: false }), /CONNACK 2/)
    const jane = await WireClient.open(hub.mqttPort, { clientId: 'janephone', username: 'jane', password: 'jane-pw', clean: false })
    await jane.close()
  })

  test("fred signing in 100 times ends only his own oldest sessions (20 per user), never jane's", async () => {
    const jane = await signIn(hub, 'jane', 'jane-pw')
    const first = await signIn(hub, 'fred', 'fred-pw')
    let last = first
    for (let i = 0; i < 100; i++) last = await signIn(hub, 'fred', 'fred-pw')
    const who = async (s: typeof jane) => (await (await s.http('/session')).json() as { user: string | null }).user
    assert.equal(await who(jane), 'jane', "jane's session is still there")
    assert.equal(await who(last), 'fred')
    assert.equal(await who(first), null, "fred's oldest session was ended")
  })

  test('kill with the session cookie needs the CSRF token, also as a GET; with Basic credentials the Recorder form still works', async () => {
    const jane = await client(hub.mqttPort, 'jane', 'jane-pw')
    await jane.publishAsync('owntracks/jane/old', JSON.stringify(location({ tst: 1_700_000_000 })), { qos: 1 })
    await jane.endAsync()
    const admin = await signIn(hub, 'admin', hub.adminPassword)
    const noToken = await admin.http('/api/0/kill?user=jane&device=old')
    assert.equal(noToken.status, 403)
    assert.match((await noToken.json() as { error: string }).error, /CSRF token missing or wrong/)
    const kept = await (await hub.http('/api/0/locations?user=jane&device=old&from=2000-01-01')).json() as { count: number }
    assert.equal(kept.count, 1, 'nothing was deleted')
    const basic = await hub.http('/api/0/kill?user=jane&device=old')
    assert.equal(basic.status, 200)
    assert.equal((await basic.json() as { locations: number }).locations, 1)
  })

  test('a SUBSCRIBE filter with NUL or invalid UTF-8 closes the connection; others are served', async () => {
    const good = await client(hub.mqttPort, 'jane', 'jane-pw')
    for (const filter of [Buffer.from('owntracks/\u0000/#'), Buffer.from([0x6f, 0x77, 0x2f, 0xc3, 0x28, 0x2f, 0x23])]) {
      const answer = await new Promise<string>((resolve) => {
        const s = connect(hub.mqttPort, '127.0.0.1')
        const reader = new PacketReader()
        let seen = ''
        s.on('connect', () => s.write(wire.connect({ clientId: 'badsub', username: 'jane', password: 'jane-pw' })))
        s.on('data', (b) => reader.push(b, (p) => {
          if (p.type === 2) {
            const len = Buffer.alloc(2); len.writeUInt16BE(filter.length)
            const body = Buffer.concat([Buffer.from([0, 7]), len, filter, Buffer.from([1])])
            s.write(Buffer.concat([Buffer.from([0x82, body.length]), body]))
          }
          if (p.type === 9) { seen = `SUBACK ${p.body[2]}`; s.destroy() } // granted: the wrong answer
        }))
        s.on('error', () => {})
        s.on('close', () => resolve(seen || 'closed'))
      })
      assert.equal(answer, 'closed', `filter ${filter.toString('hex')} is answered by closing the connection`)
    }
    await hub.waitForLog(/disconnected: SUBSCRIBE with U\+0000 \(NUL\) in the topic filter/)
    await hub.waitForLog(/disconnected: SUBSCRIBE with invalid UTF-8 in the topic filter/)
    await good.publishAsync('owntracks/jane/phone', JSON.stringify(location()), { qos: 1 })
    await good.endAsync()
  })

  test('new user names come from a safe set; a name that looks like an existing one (jаne with a Cyrillic а, Jane, jan.e) is refused', async () => {
    const add = (name: string) => hub.http('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: 'pw-123456' }) })
    for (const name of ['j\u0430ne', 'ｊａｎｅ', 'jane\u200b']) {
      const r = await add(name)
      assert.equal(r.status, 400, name)
      assert.match((await r.json() as { error: string }).error, /not in the safe set for new user names/)
    }
    for (const [name, like] of [['Jane', 'jane'], ['jan.e', 'jane'], ['fr3d', ''], ['fre_d', 'fred']]) {
      if (!like) continue
      const r = await add(name)
      assert.equal(r.status, 400, name)
      assert.match((await r.json() as { error: string }).error, new RegExp(`looks too much like the existing user '${like}'`))
    }
    assert.equal((await add('janet')).status, 201)
    assert.deepEqual((await (await hub.http('/api/users')).json() as { users: { name: string }[] }).users.map((u) => u.name), ['admin', 'fred', 'jane', 'janet'])
  })

  test('a user gets at most max-devices-per-user devices: the next device is acknowledged, neither stored nor delivered, and /last stays small', async () => {
    const sub = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const got = collect(sub)
    await sub.subscribeAsync('owntracks/fred/#', { qos: 1 })
    const fred = await client(hub.mqttPort, 'fred', 'fred-pw')
    for (let i = 0; i < 8; i++) await fred.publishAsync(`owntracks/fred/d${i}`, JSON.stringify(location({ tst: 1_700_000_000 + i })), { qos: 1, retain: true })
    // a marker on an existing device: everything published before it has been delivered by then
    await fred.publishAsync('owntracks/fred/d0', JSON.stringify(location({ tst: 1_700_000_100 })), { qos: 1 })
    await waitFor('the marker', () => got.some((m) => JSON.parse(m.payload).tst === 1_700_000_100))
    assert.deepEqual(got.map((m) => m.topic).slice(0, 5), ['owntracks/fred/d0', 'owntracks/fred/d1', 'owntracks/fred/d2', 'owntracks/fred/d3', 'owntracks/fred/d4'])
    assert.equal(got.length, 6, 'd5, d6 and d7 were not delivered')
    const last = await (await hub.http('/api/0/last?user=fred')).json() as { device: string }[]
    assert.deepEqual(last.map((l) => l.device).sort(), ['d0', 'd1', 'd2', 'd3', 'd4'])
    await hub.waitForLog(/Refused 'owntracks\/fred\/d5' from .*: fred has 5 devices, the max-devices-per-user limit/)
    assert.equal(await metric(hub, 'othub_devices_refused_total'), 3)
    await Promise.all([fred.endAsync(), sub.endAsync()])
  })
})

describe('brute force: password checks per account and per address', () => {
  let hub: RunningHub
  before(async () => {
    // 1 a minute: the test's window stays inside one refill, so the count is the burst.
    hub = await startHub({ args: ['--auth-rate-account', '1'] })
    await addUsers(hub, 'jane', 'fred')
  })
  after(async () => { await hub?.stop() })

  test("of 300 parallel MQTT guesses at jane's password, at most 11 are checked; then her right password is answered like a wrong one, also over HTTP", async () => {
    const t0 = Date.now()
    const codes = await Promise.all(Array.from({ length: 300 }, (_, i) => connackFrom(hub.mqttPort, { clientId: `guess${i}`, username: 'jane', password: `guess-${i}` })))
    assert.deepEqual(new Set(codes), new Set([5]), 'every guess is refused with CONNACK 5')
    const throttled = await metric(hub, 'othub_auth_throttled_total')
    const checked = 300 - throttled
    const refills = Math.floor((Date.now() - t0) / 60_000)
    assert.ok(checked <= 10 + 1 + refills, `${checked} of 300 guesses were checked`)
    console.log(`# ${checked} of 300 parallel guesses checked`)
    assert.equal(await connackFrom(hub.mqttPort, { clientId: 'right', username: 'jane', password: 'jane-pw' }), 5, 'the right password while throttled: CONNACK 5 too')
    const basic = await hub.http('/api/0/list', { user: 'jane', password: 'jane-pw' })
    assert.equal(basic.status, 429, 'HTTP Basic shares the budget: 429, the password unchecked')
    assert.match(basic.headers.get('retry-after') ?? '', /^\d+$/)
    const wrongBasic = await hub.http('/api/0/list', { user: 'jane', password: 'nope' })
    assert.equal(wrongBasic.status, 429, 'the same answer for a wrong password')
    await hub.waitForLog(/Refusing logins unchecked: more than 1 password checks a minute for 'jane'/)
  })

  test("a success elsewhere (fred's own logins) does not reset jane's throttle; /signin answers 429 for her whatever the password", async () => {
    for (let i = 0; i < 5; i++) (await client(hub.mqttPort, 'fred', 'fred-pw')).end()
    await signIn(hub, 'fred', 'fred-pw')
    const attempt = (password: string) => fetch(`http://127.0.0.1:${hub.httpPort}/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'jane', password }) })
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => attempt(i === 50 ? 'jane-pw' : `g${i}`).then((r) => r.status)))
    assert.deepEqual(new Set(answers), new Set([429]), 'all 100 parallel sign-ins, the right one among them, are 429')
  })

  test('an address gets 20 checks at once over all user names, so guessing from one place cannot exhaust the CPU', async () => {
    const before = await metric(hub, 'othub_auth_throttled_total')
    const t0 = Date.now()
    const codes = await Promise.all(Array.from({ length: 200 }, (_, i) => connackFrom(hub.mqttPort, { clientId: `spray${i}`, username: `user${i}`, password: 'password1' }, ATTACKER)))
    assert.deepEqual(new Set(codes), new Set([5]))
    const checked = 200 - ((await metric(hub, 'othub_auth_throttled_total')) - before)
    assert.ok(checked <= 20 + Math.ceil((Date.now() - t0) / 1000), `${checked} of 200 checked from ${ATTACKER}`)
    // Another address is not affected.
    const fred = await client(hub.mqttPort, 'fred', 'fred-pw')
    await fred.endAsync()
  })
})
