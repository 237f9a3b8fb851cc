import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, collect, location, phone, resumed } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'

async function historyTsts(hub: RunningHub, user: string, device: string): Promise<Set<number>> {
  const res = await hub.http(`/api/0/locations?user=${user}&device=${device}&from=2000-01-01`)
  assert.equal(res.status, 200)
  const body = await res.json() as { count: number; data: { tst: number }[] }
  return new Set(body.data.map((l) => l.tst))
}

describe('what is acknowledged is kept', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub(); await addUsers(hub, 'jane', 'fred') })
  after(async () => { await hub?.stop() })

  test('kill -9 during a QoS 1 stream loses no acknowledged location', async () => {
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw', 'phone', { reconnectPeriod: 0 })
    jane.on('error', () => {})
    const acked: number[] = []
    const base = 1_700_000_000
    let killed = false
    const sends: Promise<void>[] = []
    // 20 publishes in flight at a time, as a phone flushing its offline queue does
    for (let w = 0; w < 20; w++) {
      sends.push((async () => {
        for (let i = w; i < 2000 && !killed; i += 20) {
          try {
            await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: base + i })), { qos: 1, retain: true })
            acked.push(base + i)
          } catch { return }
        }
      })())
    }
    await waitFor('200 acknowledged publishes', () => acked.length >= 200, 20_000)
    killed = true
    await hub.kill9()
    await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, 1000))])
    jane.end(true)
    const ackedNow = [...acked]
    hub = await hub.restart()
    const stored = await historyTsts(hub, 'jane', 'phone')
    const missing = ackedNow.filter((t) => !stored.has(t))
    assert.deepEqual(missing, [], `${missing.length} of ${ackedNow.length} acknowledged locations missing after kill -9`)
  })

  test('a persistent session gets QoS 1 messages queued while offline, also across a hub restart', async () => {
    const opts = { clientId: 'fred-sub', clean: false }
    const first = await client(hub.mqttPort, 'fred', 'fred-pw', opts)
    await first.subscribeAsync('owntracks/fred/#', { qos: 1 })
    await first.endAsync()

    const pub = await phone(hub.mqttPort, 'fred', 'fred-pw', 'tablet')
    for (let i = 0; i < 3; i++) await pub.publishAsync('owntracks/fred/tablet/event', JSON.stringify({ _type: 'transition', event: 'enter', desc: `zone${i}`, tst: 1_700_000_100 + i, lat: 1, lon: 2 }), { qos: 1 })
    await pub.endAsync()

    let { c: fred, got } = await resumed(hub.mqttPort, 'fred', 'fred-pw', opts)
    await waitFor('3 queued messages', () => got.length >= 3)
    assert.deepEqual(got.map((m) => JSON.parse(m.payload).desc), ['zone0', 'zone1', 'zone2'])
    await fred.endAsync()

    const pub2 = await phone(hub.mqttPort, 'fred', 'fred-pw', 'tablet')
    await pub2.publishAsync('owntracks/fred/tablet/event', JSON.stringify({ _type: 'transition', event: 'leave', desc: 'after', tst: 1_700_000_200, lat: 1, lon: 2 }), { qos: 1 })
    await pub2.endAsync()
    hub = await hub.restart()

    ;({ c: fred, got } = await resumed(hub.mqttPort, 'fred', 'fred-pw', opts))
    await waitFor('the message queued before the restart', () => got.length >= 1)
    assert.equal(JSON.parse(got[0].payload).desc, 'after')
    await fred.endAsync()
  })

  test('retained locations and the history survive a restart', async () => {
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw', 'watch')
    await jane.publishAsync('owntracks/jane/watch', JSON.stringify(location({ tst: 1_700_001_000, tid: 'jw' })), { qos: 1, retain: true })
    await jane.endAsync()
    hub = await hub.restart()
    const sub = await client(hub.mqttPort, 'jane', 'jane-pw')
    const got = collect(sub)
    await sub.subscribeAsync('owntracks/jane/watch', { qos: 1 })
    await waitFor('the retained location', () => got.length >= 1)
    assert.equal(JSON.parse(got[0].payload).tst, 1_700_001_000)
    assert.equal(got[0].retain, true)
    await sub.endAsync()
    assert.ok((await historyTsts(hub, 'jane', 'watch')).has(1_700_001_000))
  })

  test("a phone that vanishes without DISCONNECT: its will reaches subscribers and the lwt is kept", async () => {
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const got = collect(admin)
    await admin.subscribeAsync('owntracks/+/+', { qos: 1 })
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw', 'car')
    ;(jane as unknown as { stream: { destroy(): void } }).stream.destroy() // the network drops, no DISCONNECT
    await waitFor('the will', () => got.find((m) => m.topic === 'owntracks/jane/car'))
    const lwt = JSON.parse(got.find((m) => m.topic === 'owntracks/jane/car')!.payload)
    assert.equal(lwt._type, 'lwt')
    jane.end(true)
    await admin.endAsync()
  })
})

describe('under load: 100 phones with 10 retained QoS 1 publishes in flight each', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub(); await addUsers(hub, 'load') })
  after(async () => { await hub?.stop() })

  test('every acknowledged message reaches a subscriber on owntracks/#', async () => {
    const sub = await client(hub.mqttPort, 'admin', hub.adminPassword)
    let delivered = 0
    // a marker published after the last acknowledgement: deliveries are in accepted order, so any
    // duplicate would come before it
    const MARK = 'owntracks/admin/marker/settle'
    let marked = false
    sub.on('message', (topic) => { if (topic === MARK) marked = true; else delivered++ })
    await sub.subscribeAsync('owntracks/#', { qos: 1 })
    const phones = await Promise.all(Array.from({ length: 100 }, (_, i) => phone(hub.mqttPort, 'load', 'load-pw', `p${i}`)))
    let acked = 0
    const perPhone = 30
    await Promise.all(phones.map(async (p, i) => {
      for (let w = 0; w < 10; w++) {
        void w
      }
      await Promise.all(Array.from({ length: 10 }, async (_, w) => {
        for (let k = w; k < perPhone; k += 10) {
          await p.publishAsync(`owntracks/load/p${i}`, JSON.stringify(location({ tst: 1_700_000_000 + k })), { qos: 1, retain: true })
          acked++
        }
      }))
    }))
    assert.equal(acked, 100 * perPhone)
    await waitFor(`${acked} deliveries (have ${delivered})`, () => delivered >= acked, 20_000)
    await sub.publishAsync(MARK, '1', { qos: 1 })
    await waitFor('the marker', () => marked, 20_000)
    assert.equal(delivered, acked, 'delivered exactly what was acknowledged')
    await Promise.all(phones.map((p) => p.endAsync()))
    await sub.endAsync()
  })
})

describe('bad input gets a clear outcome and the hub keeps serving', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub(); await addUsers(hub, 'jane') })
  after(async () => { await hub?.stop() })

  test('each bad payload is delivered unchanged, not stored, and logged with its reason', async () => {
    const watcher = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const got = collect(watcher)
    await watcher.subscribeAsync('owntracks/#', { qos: 1 })
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw')
    const big = 'x'.repeat(1024 * 1024)
    const cases: [string, string, RegExp][] = [
      ['owntracks/jane/phone', '{"_type":"location","lat":', /not JSON/],
      ['owntracks/jane/phone', JSON.stringify({ _type: 'location', lat: 'north', lon: 2, tst: 1_700_000_000 }), /lat/],
      ['owntracks/jane/phone', JSON.stringify({ _type: 'location', lat: 200, lon: 2, tst: 1_700_000_000 }), /lat 200 out of range/],
      ['owntracks/jane/phone', big, /not JSON/],
    ]
    for (const [topic, payload, reason] of cases) {
      const before = hub.logs().length
      await jane.publishAsync(topic, payload, { qos: 1 })
      await hub.waitForLog(new RegExp(`Invalid OwnTracks payload from janephone on '${topic}': .*${reason.source}.*\\(delivered, not stored\\)`), 5000, before)
    }
    // not OwnTracks device topics: delivered, nothing to judge
    await jane.publishAsync('owntracks/jane/phone/a/b/c/d/e/f/g', 'ten levels', { qos: 1 })
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    await admin.publishAsync('owntracks/x', 'hello', { qos: 1 })
    await waitFor('all six deliveries', () => got.length >= 6)
    assert.deepEqual(got.map((m) => m.payload.length), [...cases.map((c) => c[1].length), 'ten levels'.length, 5])
    assert.equal(got[3].payload, big, 'the 1 MB payload arrives unchanged')
    assert.doesNotMatch(hub.logs(), /north|xxxxxxxx/, 'payloads never reach the log')
    const res = await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01')
    assert.equal((await res.json() as { count: number }).count, 0, 'nothing invalid was stored')
    // and the hub still takes good data
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_000_500 })), { qos: 1 })
    const ok = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01')).json() as { count: number }
    assert.equal(ok.count, 1)
    await Promise.all([watcher.endAsync(), jane.endAsync(), admin.endAsync()])
  })

  test('an MQTT 5 CONNECT is refused with a clear log line', async () => {
    await assert.rejects(client(hub.mqttPort, 'jane', 'jane-pw', { protocolVersion: 5 }))
    await hub.waitForLog(/refused: MQTT 5 is not supported; set the app's mqttProtocolLevel to 4/)
  })

  test('garbage bytes on the MQTT port close that connection only', async () => {
    const good = await client(hub.mqttPort, 'jane', 'jane-pw')
    await new Promise<void>((resolve) => {
      const s = connect(hub.mqttPort, '127.0.0.1', () => { s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3])); s.write('GET / HTTP/1.1\r\n\r\n') })
      s.resume() // an unread stream never sees its end, nor closes
      s.on('close', () => resolve())
      s.on('error', () => {})
    })
    await good.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_000_600 })), { qos: 1 })
    assert.equal(good.connected, true)
    await good.endAsync()
  })
})

describe('a general MQTT broker', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub(); await addUsers(hub, 'jane') })
  after(async () => { await hub?.stop() })

  test('QoS 2 end to end, any topic and any binary payload', async () => {
    const sub = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const got: { topic: string; payload: Buffer; qos: number }[] = []
    sub.on('message', (topic, payload, packet) => got.push({ topic, payload, qos: packet.qos }))
    await sub.subscribeAsync('home/#', { qos: 2 })
    const pub = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0])
    await pub.publishAsync('home/kitchen/raw', bytes, { qos: 2 })
    await waitFor('the QoS 2 message', () => got.length >= 1)
    assert.equal(got[0].qos, 2)
    assert.deepEqual(got[0].payload, bytes)
    await Promise.all([sub.endAsync(), pub.endAsync()])
  })

  test('a phone that reconnects by itself after a hub restart goes on publishing', async () => {
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw', 'phone', { reconnectPeriod: 200 })
    jane.on('error', () => {})
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_002_000 })), { qos: 1, retain: true })
    hub = await hub.restart()
    await waitFor('the phone to reconnect', () => jane.connected, 10_000)
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_002_060 })), { qos: 1, retain: true })
    const tsts = await historyTsts(hub, 'jane', 'phone')
    assert.ok(tsts.has(1_700_002_000) && tsts.has(1_700_002_060))
    await jane.endAsync()
  })
})
