import assert from 'node:assert/strict'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { once } from 'node:events'
import mqtt, { type MqttClient } from 'mqtt'
import { startCluster, startPostgres, startRedis, type Cluster, type PostgresServer, type RedisServer } from '../helpers/cluster.js'
import { runCli, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, location, phone, resumed } from '../helpers/phone.js'
import { pw } from '../helpers/users.js'
import { signIn } from '../helpers/session.js'
import { week } from '../helpers/days.js'

const RULES = `people: [alice, bob, carol, dave, erin, frank]
groups:
  family: [alice, bob]
  pair: [carol, dave]
  work: [erin, frank]
`
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((name) => ({ name }))

// This machine's cores are shared by Redis, PostgreSQL, the nodes and the tests: give CONNACK time.
const SLOW = { connectTimeout: 20_000 }

const get = (hub: RunningHub, path: string, user: string) => hub.http(path, { user, password: pw(user) })

function received(c: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const got: { topic: string; payload: string; retain: boolean }[] = []
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }))
  return got
}

describe('a cluster of two nodes on Redis and PostgreSQL', () => {
  let redis: RedisServer
  let pg: PostgresServer
  let cluster: Cluster
  let a: RunningHub
  let b: RunningHub

  before(async () => {
    redis = await startRedis()
    pg = await startPostgres()
    cluster = await startCluster({ redis, pg, db: 'two', nodes: 2, users: USERS, rules: RULES })
    ;[a, b] = cluster.nodes
  })
  after(async () => {
    await cluster?.stop()
    await pg?.stop()
    await redis?.stop()
  })

  it('a location published on node A reaches a friend subscribed on node B and is in the history read from B', async () => {
    const bob = await client(b.mqttPort, 'bob', pw('bob'), SLOW)
    const got = received(bob)
    await bob.subscribeAsync('owntracks/#', { qos: 1 })
    const alice = await phone(a.mqttPort, 'alice', pw('alice'), 'phone', SLOW)
    const fix = location({ tst: 1_700_000_000, tid: 'al' })
    await alice.publishAsync('owntracks/alice/phone', JSON.stringify(fix), { qos: 1 })
    await waitFor('bob to receive alice on node B', () => got.find((m) => m.topic === 'owntracks/alice/phone'))
    assert.deepEqual(JSON.parse(got.find((m) => m.topic === 'owntracks/alice/phone')!.payload), fix)
    const res = await get(b, '/api/0/locations?user=alice&device=phone&from=2023-11-01&to=2023-12-01', 'bob')
    assert.equal(res.status, 200)
    const body = await res.json() as { data: Record<string, unknown>[] }
    assert.deepEqual(body.data.map((l) => l.tst), [1_700_000_000])
    const last = await waitFor('node B to know alice\'s last location', async () => {
      const l = await (await get(b, '/api/0/last?user=alice', 'bob')).json() as Record<string, unknown>[]
      return l.length === 1 ? l : undefined
    })
    assert.equal(last[0].tid, 'al')
    await alice.endAsync()
    await bob.endAsync()
  })

  it('the Recorder API answers the same bytes on both nodes as an embedded hub given the same messages', async () => {
    const embedded = await startHub({ startTimeoutMs: 60_000 })
    try {
      for (const u of ['carol', 'dave']) assert.equal((await runCli(['user', 'add', u, '--password', pw(u), '--data', embedded.dataDir])).code, 0)
      writeFileSync(join(embedded.aclDir, 'sharing.yml'), RULES)
      await embedded.waitForLog(/Reloaded users: 3 /, 20_000)
      await waitFor('the embedded hub to take the rules', async () => (await get(embedded, '/api/0/list', 'dave')).status === 200 && ((await (await get(embedded, '/api/0/list', 'dave')).json()) as { results: string[] }).results.includes('carol'), 5000).catch(() => {})
      const fixes = [
        location({ tst: 1_700_000_100, tid: 'ca', lat: 52.5, lon: 13.4 }),
        location({ tst: 1_700_000_050, tid: 'ca', lat: 52.6, lon: 13.3 }), // late, out of order
        location({ tst: 1_700_000_100, tid: 'ca', lat: 52.7, lon: 13.2 }), // same tst, other fix: both kept
        location({ tst: 1_700_000_200, tid: 'ca', lat: 52.8, lon: 13.1 }),
        { _type: 'transition', tid: 'ca', tst: 1_700_000_150, event: 'enter', desc: 'home', lat: 52.8, lon: 13.1, acc: 10, t: 'c', wtst: 1_600_000_000 },
      ]
      for (const hub of [a, embedded]) {
        const carol = await phone(hub.mqttPort, 'carol', pw('carol'), 'phone', { ...SLOW, clientId: `carol-${hub.httpPort}` })
        for (const f of fixes) await carol.publishAsync('owntracks/carol/phone', JSON.stringify(f), { qos: 1 })
        await carol.publishAsync('owntracks/carol/phone', JSON.stringify(fixes[0]), { qos: 1 }) // a redelivery: stored once
        await carol.endAsync()
      }
      const paths = [
        '/api/0/locations?user=carol&device=phone&from=2023-11-01&to=2023-12-01',
        '/api/0/locations?user=carol&device=phone&from=2023-11-01&to=2023-12-01&format=geojson',
        '/api/0/locations?user=carol&device=phone&from=2023-11-01&to=2023-12-01&limit=2',
        '/api/0/locations?user=carol&device=phone&from=2023-11-01&to=2023-12-01&format=csv',
        '/api/0/last?user=carol',
        '/api/0/list?user=carol&device=phone',
      ]
      // Towns are read on first use, in the background, on each node too: until then an answer has no `locality`.
      await waitFor('the embedded hub to know its towns', async () => (await (await get(embedded, paths[0], 'dave')).text()).includes('"locality"'))
      for (const path of paths) {
        const want = await (await get(embedded, path, 'dave')).text()
        for (const hub of [a, b]) {
          const res = await waitFor(`${path} on a node`, async () => {
            const r = await get(hub, path, 'dave')
            const t = await r.text()
            return t === want ? t : undefined
          }, 30_000).catch(async () => (await get(hub, path, 'dave')).text())
          assert.equal(res, want, `${path} differs between the cluster and the embedded hub`)
        }
      }
      const rows = await pg.query<{ n: string }>('two', "select count(*) as n from othub_locations where usr = 'carol'")
      assert.equal(rows[0].n, '4', 'the redelivery is stored once')
    } finally {
      await embedded.stop()
    }
  })

  it('a retained location is served on subscribe by either node', async () => {
    const erin = await client(a.mqttPort, 'erin', pw('erin'), SLOW)
    await erin.publishAsync('owntracks/erin/phone', JSON.stringify(location({ tid: 'er' })), { qos: 1, retain: true })
    await erin.endAsync()
    for (const node of [a, b]) {
      const frank = await client(node.mqttPort, 'frank', pw('frank'), SLOW)
      const got = received(frank)
      await frank.subscribeAsync('owntracks/erin/+', { qos: 1 })
      await waitFor(`the retained location on node ${node === a ? 'A' : 'B'}`, () => got.find((m) => m.topic === 'owntracks/erin/phone' && m.retain))
      assert.equal(JSON.parse(got[0].payload).tid, 'er')
      await frank.endAsync()
    }
  })

  it('a persistent session queued while offline is delivered after reconnecting to the other node', async () => {
    const opts = { clientId: 'dave-tablet', clean: false }
    const dave = await client(a.mqttPort, 'dave', pw('dave'), { ...SLOW, ...opts })
    await dave.subscribeAsync('owntracks/carol/#', { qos: 1 })
    await dave.endAsync()
    const carol = await client(a.mqttPort, 'carol', pw('carol'), SLOW)
    const queued = [1, 2, 3].map((i) => location({ tst: 1_700_001_000 + i, tid: 'c' + i }))
    for (const q of queued) await carol.publishAsync('owntracks/carol/phone', JSON.stringify(q), { qos: 1 })
    await carol.endAsync()
    // collected from the first packet: the queue may come in the CONNACK's segment (resumed in phone.ts)
    const { c: back, got } = await resumed(b.mqttPort, 'dave', pw('dave'), { ...SLOW, ...opts })
    await waitFor('the three queued locations on node B', () => got.filter((m) => m.topic === 'owntracks/carol/phone').length >= 3, 10_000)
    assert.deepEqual(got.filter((m) => m.topic === 'owntracks/carol/phone').map((m) => JSON.parse(m.payload).tid), ['c1', 'c2', 'c3'])
    await back.endAsync()
  })

  it('a persistent session resuming on node B while its friend goes on publishing on node A gets every message once', async () => {
    // aedes queues each message for the session and delivers it live too once the session is back: a
    // message in between must not arrive twice (from the queue and through Redis).
    const opts = { clientId: 'dave-watch', clean: false }
    const dave = await client(a.mqttPort, 'dave', pw('dave'), { ...SLOW, ...opts })
    await dave.subscribeAsync('owntracks/carol/#', { qos: 1 })
    await dave.endAsync()
    const carol = await client(a.mqttPort, 'carol', pw('carol'), SLOW)
    const tids = Array.from({ length: 40 }, (_, i) => 's' + i)
    const send = (tid: string, i: number) => carol.publishAsync('owntracks/carol/watch', JSON.stringify(location({ tst: 1_700_002_000 + i, tid })), { qos: 1 })
    for (const [i, tid] of tids.slice(0, 5).entries()) await send(tid, i)
    const dave2 = mqtt.connect(`mqtt://127.0.0.1:${b.mqttPort}`, { protocolVersion: 4, username: 'dave', password: pw('dave'), reconnectPeriod: 0, ...SLOW, ...opts })
    const got = received(dave2)
    const connected = once(dave2 as unknown as NodeJS.EventEmitter, 'connect')
    // the rest is published while dave reconnects and his queue is replayed on node B
    for (const [i, tid] of tids.slice(5).entries()) await send(tid, i + 5)
    await connected
    await send('end', 100)
    const watch = () => got.filter((m) => m.topic === 'owntracks/carol/watch').map((m) => JSON.parse(m.payload).tid as string)
    await waitFor('every message and the marker after them on node B', () => watch().includes('end') && tids.every((t) => watch().includes(t)), 10_000)
    const seen = watch()
    assert.deepEqual(seen.filter((t, i) => seen.indexOf(t) !== i), [], `no message arrives twice: ${seen.join(' ')}`)
    await dave2.endAsync()
    await carol.endAsync()
  })

  it('a share added on node A is in force on node B, and once revoked on A it stops at the next message on B', async () => {
    const share = RULES + 'shares:\n  - from: erin\n    to: alice\n'
    const since = b.logs().length
    writeFileSync(join(a.aclDir, 'sharing.yml.new'), share)
    renameSync(join(a.aclDir, 'sharing.yml.new'), join(a.aclDir, 'sharing.yml'))
    await b.waitForLog(/Reloaded access rules/, 20_000, since)
    assert.equal(readFileSync(join(b.aclDir, 'sharing.yml'), 'utf8'), share, 'node B has the file as written, comments and all')
    const alice = await client(b.mqttPort, 'alice', pw('alice'), SLOW)
    const got = received(alice)
    await alice.subscribeAsync('owntracks/+/phone', { qos: 1 })
    const erin = await client(a.mqttPort, 'erin', pw('erin'), SLOW)
    const bob = await client(a.mqttPort, 'bob', pw('bob'), SLOW)
    await erin.publishAsync('owntracks/erin/phone', JSON.stringify(location({ tid: 'e1' })), { qos: 1 })
    await waitFor('alice on B to see erin, shared on A', () => got.some((m) => m.topic === 'owntracks/erin/phone'))
    const since2 = b.logs().length
    writeFileSync(join(a.aclDir, 'sharing.yml.new'), RULES)
    renameSync(join(a.aclDir, 'sharing.yml.new'), join(a.aclDir, 'sharing.yml'))
    await b.waitForLog(/Reloaded access rules/, 20_000, since2)
    got.length = 0
    await erin.publishAsync('owntracks/erin/phone', JSON.stringify(location({ tid: 'e2' })), { qos: 1 })
    // bob's publish leaves node A after erin's, so it reaches node B after it: a marker
    await bob.publishAsync('owntracks/bob/phone', JSON.stringify(location({ tid: 'bm' })), { qos: 1 })
    await waitFor('bob\'s marker on B', () => got.some((m) => m.topic === 'owntracks/bob/phone'))
    assert.deepEqual(got.map((m) => m.topic), ['owntracks/bob/phone'], 'erin is no longer shared with alice')
    for (const c of [alice, erin, bob]) await c.endAsync()
  })

  it('a user added with the CLI against node A signs in on node B; a map session made on A is valid on B and ends on both', async () => {
    const since = b.logs().length
    assert.equal((await runCli(['user', 'add', 'gina', '--password', pw('gina'), '--data', a.dataDir])).code, 0)
    await b.waitForLog(/Reloaded users/, 20_000, since)
    const onB = await client(b.mqttPort, 'gina', pw('gina'), SLOW)
    await onB.endAsync()
    const s = await signIn(a, 'alice', pw('alice'))
    const onNodeB = (path: string, init: RequestInit = {}) => {
      const h = new Headers(init.headers)
      h.set('cookie', s.cookie)
      return fetch(`http://127.0.0.1:${b.httpPort}${path}`, { ...init, headers: h })
    }
    await waitFor('the session made on A to be valid on B', async () => (await onNodeB('/api/0/last')).status === 200)
    const out = await onNodeB('/signout', { method: 'POST', headers: { 'x-csrf-token': s.csrf } })
    assert.ok(out.status < 400, `sign-out on B: ${out.status}`)
    await waitFor('the session to end on A too', async () => (await s.http('/api/0/last')).status === 401)
  })

  it('a client id connecting on node B closes its connection on node A', async () => {
    const first = await client(a.mqttPort, 'erin', pw('erin'), { ...SLOW, clientId: 'erin-phone' })
    const closed = new Promise<void>((r) => first.once('close', () => r()))
    const second = await client(b.mqttPort, 'erin', pw('erin'), { ...SLOW, clientId: 'erin-phone' })
    await closed
    assert.equal(second.connected, true)
    await second.endAsync()
    first.end(true)
  })

  it('another user cannot take a client id held on the other node: a persistent session stays its owner\'s, a clean one is free once its holder leaves', async () => {
    const refusal = (p: Promise<MqttClient>) => p.then((c) => { c.end(true); return 'accepted' }, (err: { code?: number }) => err.code)
    const car = { clientId: 'alice-car', clean: false }
    const alice = await client(a.mqttPort, 'alice', pw('alice'), { ...SLOW, ...car })
    await alice.subscribeAsync('owntracks/bob/#', { qos: 1 })
    // while alice is connected on A, and once she has left: the id names her persistent session
    assert.equal(await refusal(client(b.mqttPort, 'bob', pw('bob'), { ...SLOW, ...car })), 2, 'identifier rejected on B while alice is connected on A')
    assert.equal(alice.connected, true, "alice's connection on A is not closed by bob's attempt")
    await alice.endAsync()
    assert.equal(await refusal(client(b.mqttPort, 'bob', pw('bob'), { ...SLOW, ...car })), 2, 'identifier rejected on B for the offline session')
    assert.equal(await refusal(client(a.mqttPort, 'bob', pw('bob'), { ...SLOW, clientId: 'alice-car', clean: true })), 2, 'nor may a clean session end it')
    const bob = await client(a.mqttPort, 'bob', pw('bob'), SLOW)
    await bob.publishAsync('owntracks/bob/phone', JSON.stringify(location({ tid: 'bq' })), { qos: 1 })
    await bob.endAsync()
    const { c: back, got } = await resumed(b.mqttPort, 'alice', pw('alice'), { ...SLOW, ...car })
    await waitFor('alice\'s queued location on B, her session untouched', () => got.find((m) => m.topic === 'owntracks/bob/phone'), 10_000)
    // her own clean session ends the persistent one (as MQTT says), and frees the id when she leaves
    await back.endAsync()
    const clean = await client(a.mqttPort, 'alice', pw('alice'), { ...SLOW, clientId: 'alice-car', clean: true })
    assert.equal(await refusal(client(b.mqttPort, 'carol', pw('carol'), { ...SLOW, clientId: 'alice-car', clean: true })), 2, 'held by her clean connection on A')
    await clean.endAsync()
    await waitFor('the id to be free once alice has left', async () => (await refusal(client(b.mqttPort, 'carol', pw('carol'), { ...SLOW, clientId: 'alice-car', clean: true }))) === 'accepted', 10_000)
    assert.match(b.logs(), /client id 'alice-car' belongs to another user/)
  })

  it('places.yml written on node A is in force on node B; a phone moving between nodes gets one enter and one leave', async () => {
    const SCHOOL = { lat: 52.52, lon: 13.405 }
    const north = (m: number) => location({ lat: SCHOOL.lat + m / 111_195, lon: SCHOOL.lon, acc: 10 })
    const since = b.logs().length
    writeFileSync(join(a.aclDir, 'places.yml.new'), `# the family's places, shared by every node\nplaces:\n  - name: school\n    owner: alice\n    lat: ${SCHOOL.lat}\n    lon: ${SCHOOL.lon}\n    radius: 150m\n`)
    renameSync(join(a.aclDir, 'places.yml.new'), join(a.aclDir, 'places.yml'))
    await b.waitForLog(/Reloaded places from/, 20_000, since)
    const bob = await client(a.mqttPort, 'bob', pw('bob'), SLOW)
    const got = received(bob)
    await bob.subscribeAsync('owntracks/alice/+/event', { qos: 1 })
    const t0 = 1_700_100_000
    const send = async (node: RunningHub, fix: Record<string, unknown>) => {
      const alice = await phone(node.mqttPort, 'alice', pw('alice'), 'kid', SLOW)
      await alice.publishAsync('owntracks/alice/kid', JSON.stringify(fix), { qos: 1 })
      await alice.endAsync()
    }
    // inside, stored by B: B makes the enter
    await send(b, { ...north(0), tst: t0 })
    await waitFor('the enter made on B', () => got.find((m) => JSON.parse(m.payload).event === 'enter'), 10_000)
    await waitFor('node A to know the location stored by B', async () => {
      const l = await (await get(a, '/api/0/last?user=alice&device=kid', 'bob')).json() as { tst: number }[]
      return l[0]?.tst === t0
    })
    // still inside, now through A, which knows she is there already: no second enter; then she leaves
    await send(a, { ...north(20), tst: t0 + 60 })
    await send(a, { ...north(1000), tst: t0 + 120 })
    await waitFor('the leave made on A', () => got.find((m) => JSON.parse(m.payload).event === 'leave'), 10_000)
    assert.deepEqual(got.map((m) => `${JSON.parse(m.payload).event} ${JSON.parse(m.payload).desc}`), ['enter school', 'leave school'])
    await bob.endAsync()
  })

  it("one node keeps the cluster's clock, so alerts due at a time of day are sent once, not once per node", async () => {
    const keepers = [a, b].filter((n) => /keeps the cluster's clock/.test(n.logs()))
    assert.equal(keepers.length, 1, `one of the two nodes: ${keepers.length}`)
  })

  it('Web Push has one key pair on every node, and a browser subscribed on A is known to B', async () => {
    const push = (node: RunningHub, init: RequestInit = {}) => node.http('/api/push' + (init.method ? '/subscriptions' : ''), { user: 'alice', password: pw('alice'), ...init })
    const keyA = ((await (await push(a)).json()) as { publicKey: string }).publicKey
    const keyB = ((await (await push(b)).json()) as { publicKey: string }).publicKey
    assert.equal(keyA, keyB)
    const sub = { endpoint: 'https://push.example.invalid/alice-laptop', keys: { p256dh: 'BNc' + 'x'.repeat(80), auth: 'tBHItJI5svbpez7KI4CCXg' }, label: 'laptop' }
    assert.equal((await push(a, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sub) })).status, 201)
    await waitFor('the subscription on B', async () => ((await (await push(b)).json()) as { subscriptions: { label: string }[] }).subscriptions.some((s) => s.label === 'laptop'), 10_000)
  })

  it("the map's days are made on either node from PostgreSQL, and a location stored through the other node is in them at once", async () => {
    // Monday 2 November 2026, 00:00 in Utrecht (UTC+1 in winter)
    const monday = week(Date.UTC(2026, 10, 2) / 1000 - 3600)[0]
    const carol = await phone(a.mqttPort, 'carol', pw('carol'), 'week', SLOW)
    for (const f of monday.fixes) await carol.publishAsync('owntracks/carol/week', JSON.stringify({ _type: 'location', tid: 'cw', ...f }), { qos: 1 })
    await carol.endAsync()
    type Day = { summary: { tz: string; visits: number; fixes: number; last: number } }
    const day = async (node: RunningHub) => {
      const res = await get(node, '/api/0/day?user=carol&device=week&date=2026-11-02', 'dave')
      assert.equal(res.status, 200, await res.clone().text())
      return (await res.json()) as Day
    }
    const onB = await waitFor('node B to know the device', async () => { const d = await day(b); return d.summary.fixes === monday.fixes.length ? d : undefined })
    assert.equal(onB.summary.tz, 'Europe/Amsterdam')
    assert.equal(onB.summary.visits, 5)
    assert.deepEqual(await day(a), onB)
    // one more fix that morning, through A: B's day has it on the next ask
    const late = monday.fixes[0].tst + 7
    const again = await phone(a.mqttPort, 'carol', pw('carol'), 'week', SLOW)
    await again.publishAsync('owntracks/carol/week', JSON.stringify({ _type: 'location', tid: 'cw', lat: 52.0907, lon: 5.1214, acc: 10, tst: late }), { qos: 1 })
    await again.endAsync()
    await waitFor("the new fix in B's day", async () => (await day(b)).summary.fixes === monday.fixes.length + 1)
  })

  it('a node stopping (SIGTERM) drains: /healthz says "draining" until its port closes, while the other node serves on', async () => {
    const c = await cluster.addNode()
    const url = `http://127.0.0.1:${c.httpPort}/healthz`
    const seen: string[] = []
    let polling = true
    const poll = (async () => {
      while (polling) {
        try {
          const r = await fetch(url)
          seen.push(`${r.status} ${((await r.json()) as { reason?: string }).reason ?? ''}`)
        } catch { seen.push('refused') }
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    await waitFor('a first answer', () => seen.length > 0, 20_000)
    c.proc.kill('SIGTERM')
    await c.waitForLog(/Stopped\./, 60_000)
    polling = false
    await poll
    // Before the port closes, the only answer other than 200 is 503 draining (how many arrive depends on this machine's load).
    const before = seen.slice(0, seen.indexOf('refused') === -1 ? seen.length : seen.indexOf('refused'))
    assert.deepEqual(before.filter((s) => !s.startsWith('200 ') && !/^503 draining/.test(s)), [])
    assert.match(c.logs(), /Draining: \/healthz answers 503[\s\S]*Stopped\./)
    assert.equal((await fetch(`http://127.0.0.1:${a.httpPort}/healthz`)).status, 200)
  })
})
