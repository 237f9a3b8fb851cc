import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { createServer, Socket, type AddressInfo, type Server } from 'node:net'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import { Level } from 'level'
import mqtt, { type MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { brokerPersistence } from '../../src/mqtt/persistence.js'
import { forgetConnectPackets } from '../../src/mqtt/forget-connect.js'
import { tempDir, waitFor } from '../helpers/hub.js'
import { createLogger } from '../../src/log.js'

/*
 * The hub reaches into aedes and aedes-persistence-level where they offer no hook: src/mqtt/ordered-publish.ts
 * (the broker's publish counter and its emitter), src/mqtt/limits.ts (handle, the client's parser and
 * delivery functions), src/mqtt/broker.ts and ops/sys-topics.ts (clients, wills, persistence, the client
 * handle() returns), src/mqtt/client-delivery.ts (deliver0/deliverQoS), src/mqtt/packet-log.ts and
 * src/mqtt/protocol-level.ts (the parser's packet and error events), src/mqtt/forget-connect.ts (the
 * parser's settings), src/mqtt/lean-parser.ts (the parser's list, and bl's own `_bufs` under it;
 * test/unit/lean-parser.test.ts), src/mqtt/close-watch.ts (the client's _eos and the socket's client;
 * test/unit/close-watch.test.ts), src/mqtt/sign-in.ts (the will during authenticate) and
 * src/mqtt/persistence.ts. These packages, and bl, are pinned exactly; an upgrade that moves any of
 * these fails here, naming what moved, before it fails in the field.
 */

const root = new URL('../../../', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { dependencies: Record<string, string> }
const installed = (name: string) => (JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, root), 'utf8')) as { version: string }).version

interface Internals {
  counter: number
  id: string
  mq: { emit: (packet: { brokerId?: string; brokerCounter?: number }, cb?: () => void) => void }
  handle: (conn: Socket, req?: unknown) => Client
  clients: Record<string, Client & { will?: unknown; subscriptions: object; clean: boolean }>
  persistence: { countOffline(): Promise<{ clientsCount: number }> }
}
interface ClientInternals {
  conn: Socket
  deliver0: unknown
  deliverQoS: unknown
  _parser: { packet: { cmd?: string; length: number }; _parseLength: unknown; _emitError: unknown; settings: Record<string, unknown> } & NodeJS.EventEmitter
  _will?: { topic: string } | null
}

describe('aedes as the hub patches it', () => {
  test('aedes, its persistences and mqtt-packet are pinned exactly, and the installed versions are the pinned ones', () => {
    for (const name of ['aedes', 'aedes-persistence-level', 'aedes-persistence-redis', 'mqtt-packet']) {
      assert.match(pkg.dependencies[name], /^\d+\.\d+\.\d+$/, `${name} must be pinned to one version in package.json`)
      assert.equal(installed(name), pkg.dependencies[name], `${name}: installed ${installed(name)}, package.json pins ${pkg.dependencies[name]} (npm ci)`)
    }
  })

  test("bl, whose list the parser's reads reach into, is pinned exactly, and mqtt-packet loads the pinned one", () => {
    assert.match(pkg.dependencies.bl, /^\d+\.\d+\.\d+$/, 'bl must be pinned to one version in package.json')
    const parsers = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'))
    const loaded = (JSON.parse(readFileSync(parsers.resolve('bl/package.json'), 'utf8')) as { version: string }).version
    assert.equal(loaded, pkg.dependencies.bl, `mqtt-packet loads bl ${loaded}, package.json pins ${pkg.dependencies.bl}: check src/mqtt/lean-parser.ts against it, then pin it`)
  })

  let broker: Aedes
  let b: Internals
  let server: Server
  let port: number
  const willSeen: ({ topic: string } | null | undefined)[] = []
  const handled: Client[] = []
  before(async () => {
    broker = await Aedes.createBroker({
      authenticate: (client, _u, _p, done) => { willSeen.push((client as unknown as ClientInternals)._will); done(null, true) },
    })
    b = broker as unknown as Internals
    server = createServer((s) => { handled.push(b.handle(s)) })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  after(async () => {
    await new Promise<void>((r) => broker.close(() => r()))
    await new Promise((r) => server.close(r))
  })

  test("mqtt-packet's cacheNumbers = false (broker.ts) writes the same bytes and never builds its 65,536-Buffer table", async () => {
    const numbers = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> }
    const written = async () => {
      const chunks: Buffer[] = []
      const sink = new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb() } })
      mqttPacket.writeToStream({ cmd: 'publish', topic: 'owntracks/jane/phone', payload: Buffer.from('{}'), qos: 1, messageId: 300, retain: true, dup: false }, sink)
      await new Promise((r) => setImmediate(r))
      return Buffer.concat(chunks)
    }
    const was = mqttPacket.writeToStream.cacheNumbers
    try {
      mqttPacket.writeToStream.cacheNumbers = false
      const bytes = await written()
      assert.equal(Object.keys(numbers.cache).length, 0, 'no table of numbers is built')
      assert.deepEqual([...bytes.subarray(0, 4)], [0x33, 26, 0, 20], 'PUBLISH QoS 1 retained, its length, the topic length')
      assert.deepEqual([...bytes.subarray(24, 26)], [300 >> 8, 300 & 0xff], 'the message id')
    } finally {
      mqttPacket.writeToStream.cacheNumbers = was
    }
  })

  test('the broker: a numeric counter and id, its emitter, handle(), clients and persistence.countOffline', () => {
    assert.equal(typeof b.counter, 'number', 'broker.counter')
    assert.equal(typeof b.id, 'string', 'broker.id')
    assert.equal(typeof b.mq?.emit, 'function', 'broker.mq.emit')
    assert.equal(typeof b.handle, 'function', 'broker.handle')
    assert.equal(typeof b.clients, 'object', 'broker.clients')
    assert.equal(typeof b.persistence?.countOffline, 'function', 'broker.persistence.countOffline')
  })

  test('publish numbers the packet synchronously, and the emission carries brokerId and brokerCounter', async () => {
    const emitted: { brokerId?: string; brokerCounter?: number }[] = []
    const inner = b.mq.emit.bind(b.mq)
    b.mq.emit = (packet, cb) => { emitted.push({ brokerId: packet.brokerId, brokerCounter: packet.brokerCounter }); inner(packet, cb) }
    try {
      const before = b.counter
      const done = new Promise<void>((resolve, reject) => broker.publish({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('1'), qos: 0, retain: false, dup: false } as never, (err?: Error | null) => (err ? reject(err) : resolve())))
      assert.equal(b.counter, before + 1, 'counted before publish() returns')
      await done
      assert.deepEqual(emitted.filter((e) => e.brokerCounter === before + 1), [{ brokerId: b.id, brokerCounter: before + 1 }])
    } finally {
      b.mq.emit = inner
    }
  })

  test('a client: its socket, deliver0/deliverQoS, the parser hooks, subscriptions, clean, the will while authenticating and after', async () => {
    const c: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4, clientId: 'probe', clean: true, reconnectPeriod: 0,
      will: { topic: 'owntracks/probe/phone', payload: Buffer.from('{"_type":"lwt"}'), qos: 1, retain: false },
    })
    try {
      await c.subscribeAsync('a/#', { qos: 1 })
      assert.equal(willSeen.at(-1)?.topic, 'owntracks/probe/phone', 'client._will during authenticate')
      const client = b.clients.probe
      assert.ok(client, 'broker.clients[clientId]')
      assert.ok(handled.includes(client), 'broker.handle() returns the client it made')
      const ci = client as unknown as ClientInternals
      assert.ok(ci.conn instanceof Socket, 'client.conn')
      assert.equal(typeof ci.deliver0, 'function', 'client.deliver0')
      assert.equal(typeof ci.deliverQoS, 'function', 'client.deliverQoS')
      assert.equal(typeof ci._parser?._parseLength, 'function', 'client._parser._parseLength')
      assert.equal(typeof ci._parser?._emitError, 'function', 'client._parser._emitError')
      assert.equal(typeof ci._parser?.packet, 'object', 'client._parser.packet')
      assert.ok(ci._parser.listenerCount('packet') > 0 && ci._parser.listenerCount('error') > 0, "client._parser emits 'packet' and 'error'")
      assert.deepEqual(Object.keys(client.subscriptions), ['a/#'], 'client.subscriptions')
      assert.equal(client.clean, true, 'client.clean')
      assert.equal((client.will as { topic?: string } | undefined)?.topic, 'owntracks/probe/phone', 'client.will')
    } finally {
      await c.endAsync()
    }
  })

  test("mqtt-packet's parser reads only protocolVersion and bridgeMode of the CONNECT it keeps as settings; once signed in the hub keeps just those (forget-connect.ts)", async () => {
    const source = readFileSync(createRequire(import.meta.url).resolve('mqtt-packet/parser.js'), 'utf8')
    const read = new Set([...source.matchAll(/this\.settings\.(\w+)/g)].map((m) => m[1]))
    assert.deepEqual([...read].sort(), ['bridgeMode', 'protocolVersion'], 'what the parser reads of its settings')
    assert.match(source, /this\.settings = packet/, 'the parsed CONNECT becomes the settings')
    forgetConnectPackets(broker)
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: 'forgets', username: 'jane', password: 'secret', reconnectPeriod: 0 })
    try {
      const ci = b.clients.forgets as unknown as ClientInternals
      assert.deepEqual(ci._parser.settings, { protocolVersion: 4 }, 'no password, no CONNECT kept')
      await c.subscribeAsync('f/#', { qos: 1 })
      const got = new Promise<string>((r) => c.once('message', (_t, p) => r(p.toString())))
      await c.publishAsync('f/x', 'still parsed', { qos: 1 })
      assert.equal(await got, 'still parsed')
    } finally {
      await c.endAsync()
    }
  })

  test("a CONNECT with an unknown protocol level is an 'Invalid protocol version' error of the client's parser, before any CONNACK", async () => {
    const errors: string[] = []
    // a server of its own, to listen on the parser aedes makes for this connection before it reads a byte
    const probe = createServer((sock) => (b.handle(sock) as unknown as ClientInternals)._parser.prependListener('error', (e: Error) => errors.push(e.message)))
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const s = new Socket()
    const closed = new Promise((r) => s.once('close', r))
    const got: Buffer[] = []
    s.on('data', (chunk: Buffer) => got.push(chunk))
    s.on('error', () => { /* the broker may reset it */ })
    s.connect((probe.address() as AddressInfo).port, '127.0.0.1', () => {
      s.write(Buffer.from([0x10, 0x0d, 0x00, 0x04, ...Buffer.from('MQTT'), 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x78]))
    })
    await closed
    assert.deepEqual(errors, ['Invalid protocol version'], 'mqtt-packet names the refused level so (protocol-level.ts answers CONNACK 1 on it)')
    assert.deepEqual(Buffer.concat(got), Buffer.alloc(0), 'aedes itself answers nothing')
    await new Promise((r) => probe.close(r))
  })
})

describe('aedes-persistence-level as the hub patches it', () => {
  const dir = tempDir()
  const quiet = createLogger({ logLevel: 'error', logFormat: 'text' }, new Writable({ write: (_c, _e, cb) => cb() }))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('outgoingClearMessageId exists; retained messages are written with db.put and db.del under retained:<topic>', async () => {
    assert.equal(typeof (AsyncLevelPersistence.prototype as unknown as Record<string, unknown>).outgoingClearMessageId, 'function')
    const db = new Level<string, Buffer>(join(dir, 'broker'), { valueEncoding: 'buffer' })
    const batched: string[] = []
    const batch = db.batch.bind(db) as (ops: { type: string; key: string }[], o?: unknown) => Promise<void>
    ;(db as unknown as { batch: typeof batch }).batch = (ops, o) => { for (const op of ops) batched.push(`${op.type} ${op.key}`); return batch(ops, o) }
    const p = brokerPersistence(db, quiet).persistence as unknown as { setup(b: unknown): Promise<void>; storeRetained(packet: object): Promise<void>; destroy?(): Promise<void> }
    await p.setup({ id: 'probe' })
    const keys = async () => { const out: string[] = []; for await (const k of db.keys()) out.push(k); return out }
    await p.storeRetained({ cmd: 'publish', topic: 'owntracks/jane/phone', payload: Buffer.from('x'), qos: 1, retain: true, brokerId: 'probe', brokerCounter: 1 })
    // a write at a light load follows the publish within milliseconds
    await waitFor('the retained write', async () => (await keys()).some((k) => k.startsWith('retained:') && k.includes('owntracks/jane/phone')))
    await p.storeRetained({ cmd: 'publish', topic: 'owntracks/jane/phone', payload: Buffer.alloc(0), qos: 1, retain: true, brokerId: 'probe', brokerCounter: 2 })
    await waitFor('an empty retained payload deletes it', async () => !(await keys()).some((k) => k.startsWith('retained:')))
    assert.deepEqual(batched, ['put retained:owntracks/jane/phone', 'del retained:owntracks/jane/phone'], 'retained writes go through db.put/db.del, which persistence.ts turns into batches')
    await db.close()
  })
})
