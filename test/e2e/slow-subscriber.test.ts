import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { client } from '../helpers/phone.js'
import { wire } from '../helpers/wire.js'

describe('a frozen subscriber', () => {
  /** Subscribes to `topic` over a raw socket and then never reads again. */
  const frozen = (port: number, topic: string) => new Promise<ReturnType<typeof connect>>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(wire.connect({ clientId: 'frozen', username: 'admin', password: hub.adminPassword }))
      s.write(wire.subscribe(1, topic, 1))
    })
    s.on('error', () => {})
    s.once('data', () => { s.pause(); resolve(s) }) // CONNACK (and SUBACK) read, then nothing more
  })
  let hub: RunningHub
  after(async () => { await hub?.stop() })

  test('does not stall a live subscriber, even when nothing disconnects it', async () => {
    hub = await startHub({ args: ['--max-queued-bytes', '0', '--drain-timeout', '600000', '--publish-rate', '0'] })
    const stuck = await frozen(hub.mqttPort, 'load/#')
    const live = await client(hub.mqttPort, 'admin', hub.adminPassword)
    let received = 0
    live.on('message', () => { received++ })
    await live.subscribeAsync('load/#', { qos: 1 })
    const pub = await client(hub.mqttPort, 'admin', hub.adminPassword)
    // 48 MB: far more than the kernel buffers of the frozen connection take, so the hub has to hold it.
    // Without the fix this stalls until drain-timeout (here 10 min) cuts the frozen one off.
    const N = 3000
    const payload = Buffer.alloc(16_384, 'x')
    const run = (async () => {
      for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: 50 }, () => pub.publishAsync('load/x', payload, { qos: 1 })))
      await waitFor(`${N} messages at the live subscriber`, () => received >= N, 60_000)
    })()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([run, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`the live subscriber stalled: ${received} of ${N} after 60 s`)), 60_000) })])
    clearTimeout(timer)
    assert.equal(stuck.destroyed, false, 'the frozen one is still connected: it was not what unblocked the other')
    stuck.destroy()
    await Promise.all([pub.endAsync(), live.endAsync()])
    await hub.stop()
  })

  test('is disconnected once more than max-queued-bytes wait for it, and that is logged', async () => {
    hub = await startHub({ args: ['--max-queued-bytes', '100000', '--publish-rate', '0'] })
    const stuck = await frozen(hub.mqttPort, 'load/#')
    const pub = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const payload = Buffer.alloc(16_384, 'x')
    for (let i = 0; i < 1000 && !stuck.destroyed; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => pub.publishAsync('load/x', payload, { qos: 1 })))
    }
    await hub.waitForLog(/Client frozen connection closed: \d+ bytes waiting to be sent, more than max-queued-bytes 100000: a frozen or too slow subscriber/, 10_000)
    stuck.destroy()
    await pub.endAsync()
  })
})
