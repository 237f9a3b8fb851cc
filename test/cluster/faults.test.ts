import assert from 'node:assert/strict'


import { after, before, describe, it } from 'node:test'
import mqtt, { type MqttClient } from 'mqtt'
import { startCluster, startHaproxy, startPostgres, startRedis, type Balancer, type Cluster, type PostgresServer, type RedisServer } from '../helpers/cluster.js'
import { waitFor, type RunningHub } from '../helpers/hub.js'
import { client, location } from '../helpers/phone.js'
import { pw } from '../helpers/users.js'

const PHONES = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']
const RULES = `people: [watcher, ${PHONES.join(', ')}]\nshares:\n${PHONES.map((p) => `  - from: ${p}\n    to: watcher\n`).join('')}`

/**
 * A phone as the app behaves through a load balancer: persistent session, QoS 1, reconnects by itself
 * and resends what was not acknowledged. `acked` holds the tst of every location the hub acknowledged.
 */
class StreamingPhone {
  readonly acked: number[] = []
  private pending = new Set<Promise<void>>()
  private next: number
  private running = false
  private loop?: Promise<void>
  constructor(readonly user: string, readonly c: MqttClient, start: number) { this.next = start }

  static async connect(port: number, user: string, start: number): Promise<StreamingPhone> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4, clientId: `${user}phone`, clean: false, username: user, password: pw(user),
      reconnectPeriod: 100, connectTimeout: 15_000, keepalive: 10,
    })
    return new StreamingPhone(user, c, start)
  }

  start(): void {
    this.running = true
    this.loop = (async () => {
      while (this.running) {
        // a few in flight at once, as the app does with an offline backlog
        while (this.pending.size >= 4) await Promise.race(this.pending)
        const tst = this.next++
        const p = this.c.publishAsync(`owntracks/${this.user}/phone`, JSON.stringify(location({ tst, tid: this.user })), { qos: 1 })
          .then(() => { this.acked.push(tst) }, () => { /* client ended */ })
          .finally(() => this.pending.delete(p))
        this.pending.add(p)
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
  }

  /** Stops publishing and waits until everything sent was acknowledged. */
  async drain(): Promise<void> {
    this.running = false
    await this.loop
    await waitFor(`${this.user}'s publishes to be acknowledged`, () => this.pending.size === 0, 30_000)
  }

  end(): Promise<void> { return this.c.endAsync() }
}

describe('a cluster behind HAProxy, under faults', () => {
  let redis: RedisServer
  let pg: PostgresServer
  let cluster: Cluster
  let lb: Balancer
  let a: RunningHub
  let b: RunningHub

  before(async () => {
    redis = await startRedis()
    pg = await startPostgres()
    cluster = await startCluster({ redis, pg, db: 'faults', nodes: 2, users: [{ name: 'watcher' }, ...PHONES.map((name) => ({ name }))], rules: RULES })
    ;[a, b] = cluster.nodes
    lb = await startHaproxy([a, b])
  })
  after(async () => {
    await lb?.stop()
    await cluster?.stop()
    await pg?.stop()
    await redis?.stop()
  })

  const stored = async (user: string) => new Set((await pg.query<{ tst: string }>('faults', 'select tst from othub_locations where usr = $1', [user])).map((r) => Number(r.tst)))

  async function checkAllStored(phones: StreamingPhone[]): Promise<number> {
    let total = 0
    for (const p of phones) {
      const have = await stored(p.user)
      const missing = p.acked.filter((t) => !have.has(t))
      assert.deepEqual(missing, [], `${p.user}: acknowledged locations missing from PostgreSQL`)
      total += p.acked.length
    }
    return total
  }

  it('kill -9 of a node during a QoS 1 stream loses no acknowledged location, and its phones go on through the other node', async () => {
    const phones = await Promise.all(PHONES.map((u, i) => StreamingPhone.connect(lb.mqttPort, u, 1_700_000_000 + i * 1_000_000)))
    const onA = () => a.logs().split('\n').filter((l) => /New client connected .* as p\dphone/.test(l)).length
    await waitFor('phones on both nodes', () => onA() > 0 && b.logs().split('\n').some((l) => /New client connected .* as p\dphone/.test(l)), 10_000)
    for (const p of phones) p.start()
    await waitFor('a first stream of acknowledgements', () => phones.every((p) => p.acked.length >= 20), 30_000)
    await a.kill9()
    const before = phones.map((p) => p.acked.length)
    await waitFor('every phone acknowledged again after the kill', () => phones.every((p, i) => p.acked.length >= before[i] + 20), 60_000)
    for (const p of phones) await p.drain()
    const total = await checkAllStored(phones)
    assert.ok(total >= PHONES.length * 40)
    for (const p of phones) await p.end()
    a = await a.restart()
    cluster.nodes[0] = a
  })

  it('a Redis restart under load is logged, the nodes reconnect by themselves, and deliveries go on', async () => {
    const watcher = await client(b.mqttPort, 'watcher', pw('watcher'), { connectTimeout: 20_000, reconnectPeriod: 100, clean: false, clientId: 'watcher-b' })
    const got: string[] = []
    watcher.on('message', (topic, payload) => got.push(`${topic} ${JSON.parse(payload.toString()).tst}`))
    await watcher.subscribeAsync('owntracks/+/phone', { qos: 1 })
    const phones = await Promise.all(PHONES.slice(0, 3).map((u, i) => StreamingPhone.connect(lb.mqttPort, u, 1_710_000_000 + i * 1_000_000)))
    for (const p of phones) p.start()
    await waitFor('a stream before the restart', () => phones.every((p) => p.acked.length >= 10), 30_000)
    const since = [a.logs().length, b.logs().length]
    await redis.restart()
    await a.waitForLog(/Redis \(\w+\) is back/, 20_000, since[0])
    await b.waitForLog(/Redis \(\w+\) is back/, 20_000, since[1])
    const mark = phones.map((p) => p.acked.length)
    await waitFor('acknowledgements after Redis came back', () => phones.every((p, i) => p.acked.length >= mark[i] + 10), 30_000)
    for (const p of phones) await p.drain()
    await checkAllStored(phones)
    // a location published now reaches the watcher on the other node
    const last = 1_719_999_999
    const p1 = await client(a.mqttPort, 'p1', pw('p1'), { connectTimeout: 20_000 })
    await p1.publishAsync('owntracks/p1/phone', JSON.stringify(location({ tst: last })), { qos: 1 })
    await waitFor('the watcher to receive a location published after the restart', () => got.includes(`owntracks/p1/phone ${last}`), 10_000)
    await p1.endAsync()
    for (const p of phones) await p.end()
    await watcher.endAsync()
  })

  it('with PostgreSQL stopped locations are not acknowledged and /healthz says why; all resumes when it returns', async () => {
    const since = b.logs().length
    await pg.halt()
    const health = await waitFor('/healthz to report PostgreSQL', async () => {
      const r = await fetch(`http://127.0.0.1:${b.httpPort}/healthz`)
      const body = await r.json() as { status: string; reason?: string }
      return r.status === 503 && /PostgreSQL/.test(body.reason ?? '') ? body : undefined
    }, 10_000)
    assert.equal(health.status, 'degraded')
    const phone = await StreamingPhone.connect(b.mqttPort, 'p4', 1_720_000_000)
    const acked = phone.c.publishAsync('owntracks/p4/phone', JSON.stringify(location({ tst: 1_720_000_000 })), { qos: 1 })
    await b.waitForLog(/History write failed for 'owntracks\/p4\/phone'.*not acknowledged/, 20_000, since)
    let done = false
    void acked.then(() => { done = true })
    assert.equal(done, false, 'acknowledged while PostgreSQL was down')
    await pg.start()
    await acked // the phone reconnects and resends; now it is stored and acknowledged
    assert.ok((await stored('p4')).has(1_720_000_000))
    await waitFor('/healthz to be ok again', async () => (await fetch(`http://127.0.0.1:${b.httpPort}/healthz`)).status === 200, 20_000)
    await phone.end()
  })
})
