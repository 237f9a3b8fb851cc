import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { metric, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { client } from '../helpers/phone.js'
import { wire, WireClient } from '../helpers/wire.js'

const location = (i: number) => JSON.stringify({ _type: 'location', tid: 'bh', lat: 52.5 + i / 1e5, lon: 13.4, tst: 1_700_000_000 + i, acc: 5 })

describe('a hub busy with many phones', () => {
  let hub: RunningHub
  after(async () => { await hub?.stop() })

  test('reads them in turn, and every location is acknowledged, stored and delivered', async () => {
    hub = await startHub({ args: ['--auth-rate-account', '0', '--auth-rate-address', '0', '--publish-rate', '0'] })
    const sub = await WireClient.open(hub.mqttPort, { clientId: 'everything', username: 'admin', password: hub.adminPassword })
    let delivered = 0
    sub.onMessage = () => { delivered++ }
    await sub.subscribe('owntracks/#', 1)
    const phones: WireClient[] = []
    for (let i = 0; i < 300; i += 100) {
      phones.push(...await Promise.all(Array.from({ length: 100 }, (_, k) =>
        WireClient.open(hub.mqttPort, { clientId: `phone${i + k}`, username: 'admin', password: hub.adminPassword }))))
    }
    // 3,000 locations at once, ~400 kB: far more than the hub takes in before it reads in turn.
    const acks = await Promise.all(phones.flatMap((p, i) => Array.from({ length: 10 }, (_, k) => p.publish(`owntracks/admin/d${i}`, location(k), 1, true))))
    assert.equal(acks.filter(Boolean).length, 3000, 'every publish acknowledged')
    await waitFor('3,000 deliveries', () => delivered >= 3000, 20_000)
    assert.equal(delivered, 3000)
    assert.equal(await metric(hub, 'othub_history_writes_total'), 3000, 'every location in the history')
    assert.ok(await metric(hub, 'othub_mqtt_reads_waited_total') > 0, 'some reads waited for their turn')
    const last = await (await hub.http('/api/0/last?user=admin&device=d299')).json() as { lat: number }[]
    assert.equal(last[0].lat, JSON.parse(location(9)).lat, "the last phone's newest location")
    await Promise.all([...phones.map((p) => p.close()), sub.close()])
  })

  test('is not held up by connections whose packets cannot be handled', async () => {
    await hub?.stop()
    hub = await startHub({ args: ['--max-queued-bytes', '0', '--drain-timeout', '600000', '--publish-rate', '0'] })
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    // 12 MB of retained messages: more than the kernel buffers a connection that reads nothing takes.
    const big = Buffer.alloc(256 * 1024, 'x')
    await Promise.all(Array.from({ length: 48 }, (_, i) => admin.publishAsync(`big/${i}`, big, { qos: 1, retain: true })))
    const phone = await WireClient.open(hub.mqttPort, { clientId: 'phone', username: 'admin', password: hub.adminPassword })
    // Five connections get the retained messages and read nothing; then each sends 20 kB of PINGREQs,
    // whose answers cannot be written: their chunks stay unhandled until drain-timeout (10 minutes).
    const frozen = await Promise.all(Array.from({ length: 5 }, (_, i) => new Promise<Socket>((resolve) => {
      const s = connect(hub.mqttPort, '127.0.0.1', () => {
        s.write(wire.connect({ clientId: `frozen${i}`, username: 'admin', password: hub.adminPassword }))
        s.write(wire.subscribe(1, 'big/#', 0))
      })
      s.on('error', () => {})
      s.once('data', () => { s.pause(); resolve(s) })
    })))
    await new Promise((r) => setTimeout(r, 1000)) // the hub fills their sockets
    for (const s of frozen) s.write(Buffer.concat(Array.from({ length: 10_000 }, () => wire.pingreq())))
    await new Promise((r) => setTimeout(r, 500))
    let timer: NodeJS.Timeout | undefined
    const acked = await Promise.race([phone.publish('owntracks/admin/phone', location(1), 1), new Promise((r) => { timer = setTimeout(() => r('no PUBACK in 20 s'), 20_000) })])
    clearTimeout(timer)
    assert.equal(acked, true, 'the phone is answered')
    assert.ok(frozen.every((s) => !s.destroyed), 'the frozen connections are still open: not what let the phone through')
    for (const s of frozen) s.destroy()
    await Promise.all([phone.close(), admin.endAsync()])
  })
})
