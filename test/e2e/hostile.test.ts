import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, location } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'
import { WireClient, wire } from '../helpers/wire.js'


/** A small deterministic PRNG, so a failing run can be repeated (the seed is in the test name). */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296 }
}

const SEED = 20261124

describe('hostile input', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub({ args: ['--publish-rate', '0'] }); await addUsers(hub, 'jane') })
  after(async () => { await hub?.stop() })

  test(`10,000 random, truncated and corrupted MQTT packets and malformed JSON (seed ${SEED}): a well-behaved client is served throughout`, async () => {
    const rnd = prng(SEED)
    const int = (n: number) => Math.floor(rnd() * n)
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)))
    const badJson = () => [
      '{"_type":"location","lat":', '{"_type":"location","lat":1e999,"lon":2,"tst":1}', '[[[[[[[[[[', '{"_type":null}',
      '{"_type":"location","lat":"\u0000","lon":{},"tst":[]}', '\xff\xfe\xfd', '{"_type":"' + 'x'.repeat(int(5000)) + '"}',
      JSON.stringify({ _type: 'transition', event: 'sideways', tst: -1 }), '{"__proto__":{"polluted":1},"_type":"location"}',
    ][int(9)]
    const valid = () => [
      wire.publish('owntracks/jane/phone', badJson(), int(2), rnd() < 0.5, 1 + int(65535)),
      wire.subscribe(1 + int(100), ['#', '+/+', 'owntracks/#', '$SYS/#', 'a/+/#/b', ''][int(6)], int(3)),
      wire.unsubscribe(1 + int(100), 'owntracks/#'),
      wire.puback(int(65536)), wire.pingreq(), wire.connect({ clientId: 'again' }),
    ][int(6)]
    const mutate = (p: Buffer) => {
      const q = Buffer.from(p)
      for (let k = 0; k < 1 + int(3); k++) q[int(q.length)] = int(256)
      return q
    }
    const fuzzPacket = () => {
      const r = rnd()
      if (r < 0.25) return bytes(1 + int(64))
      const p = valid()
      if (r < 0.5) return p.subarray(0, int(p.length)) // truncated
      if (r < 0.75) return mutate(p)
      return p // valid framing, hostile content (bad JSON, odd topics, a second CONNECT)
    }

    const good = await client(hub.mqttPort, 'admin', hub.adminPassword)
    let delivered = 0
    good.on('message', () => { delivered++ })
    await good.subscribeAsync('fuzz/ok', { qos: 1 })
    let acked = 0
    let stop = false
    const steady = (async () => {
      while (!stop) {
        await good.publishAsync('fuzz/ok', `tick ${acked}`, { qos: 1 })
        acked++
        await new Promise((r) => setTimeout(r, 20))
      }
    })()

    let sent = 0
    const connections = 200
    const perConnection = 10_000 / connections
    const one = (i: number) => new Promise<void>((resolve) => {
      const s = connect(hub.mqttPort, '127.0.0.1')
      s.on('error', () => {})
      s.on('close', () => resolve())
      s.on('connect', () => {
        // Half log in first, so their packets get past CONNECT into the broker proper.
        if (i % 2 === 0) s.write(wire.connect({ clientId: `fuzz${i}`, username: 'jane', password: 'jane-pw' }))
        for (let k = 0; k < perConnection; k++) { s.write(fuzzPacket()); sent++ }
        setTimeout(() => s.destroy(), 100)
      })
    })
    for (let i = 0; i < connections; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => one(i + k)))
    assert.equal(sent, 10_000)
    const ackedAtEnd = acked
    stop = true
    await steady
    await waitFor(`all ${acked} of the good client's messages delivered (${delivered})`, () => delivered >= acked, 10_000)
    assert.ok(ackedAtEnd > 10, `the good client kept being acknowledged during the fuzzing (${ackedAtEnd})`)
    assert.equal(good.connected, true)
    assert.equal(hub.proc.exitCode, null, 'the hub is still running')
    assert.equal((await hub.http('/healthz', { user: '' })).status, 200)
    const later = await client(hub.mqttPort, 'jane', 'jane-pw')
    await later.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_000_000 })), { qos: 1 })
    const stored = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01')).json() as { data: { tst: number }[] }
    assert.deepEqual(stored.data.map((l) => l.tst), [1_700_000_000], 'stored, and none of the hostile payloads')
    await Promise.all([later.endAsync(), good.endAsync()])
  })
})

describe('2,000 idle phones', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub({ args: ['--publish-rate', '0'] }); await addUsers(hub, 'idle') })
  after(async () => { await hub?.stop() })

  test('stay connected with keepalive, each subscribed to its cmd topic, and a command still reaches one of them', async () => {
    const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim())
    assert.ok(limit >= 4200, `open-file limit ${limit} is too low for 2,000 connections on both ends: run 'ulimit -n 8192' first (.ci/run does)`)
    const n = 2000
    const keepalive = 3
    const phones: WireClient[] = []
    for (let i = 0; i < n; i += 100) {
      phones.push(...await Promise.all(Array.from({ length: 100 }, async (_, k) => {
        const c = await WireClient.open(hub.mqttPort, { clientId: `idle${i + k}`, username: 'idle', password: 'idle-pw', keepalive, clean: false })
        await c.subscribe(`owntracks/idle/d${i + k}/cmd`, 1)
        return c
      })))
    }
    let closed = 0
    for (const p of phones) void p.closed.then(() => { closed++ })
    const rss = Number(/VmRSS:\s+(\d+)/.exec(execFileSync('cat', [`/proc/${hub.proc.pid}/status`], { encoding: 'utf8' }))![1])
    // Two keepalive periods: the hub would drop silent clients after 1.5.
    await new Promise((r) => setTimeout(r, 2 * keepalive * 1000))
    assert.equal(closed, 0, 'every idle phone is still connected')
    const metrics = await (await hub.http('/metrics')).text()
    assert.equal(Number(/^othub_mqtt_connections (\d+)$/m.exec(metrics)![1]), n)
    let got = ''
    phones[1234].onMessage = (m) => { got = `${m.topic} ${m.payload}` }
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    await admin.publishAsync('owntracks/idle/d1234/cmd', '{"_type":"cmd","action":"reportLocation"}', { qos: 1 })
    await waitFor('the command at d1234', () => got)
    assert.equal(got, 'owntracks/idle/d1234/cmd {"_type":"cmd","action":"reportLocation"}')
    console.log(`# hub RSS with ${n} idle phones: ${Math.round(rss / 1024)} MB`)
    await admin.endAsync()
    await Promise.all(phones.map((p) => p.close()))
  })
})
