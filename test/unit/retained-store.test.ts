import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import { Level } from 'level'
import { brokerPersistence } from '../../src/mqtt/persistence.js'
import { LevelHistory } from '../../src/store/history-level.js'

/*
 * The broker keeps retained messages in memory and on the history's database (mqtt/retained.ts): a
 * phone's retained location is written in the batch that stores it in the history.
 */
interface Retained { topic: string; payload: Buffer; qos: number }
type Store = { setup(b: unknown): Promise<void>; storeRetained(p: object): Promise<void>; createRetainedStreamCombi(f: string[]): AsyncIterable<Retained>; createRetainedStream(f: string): AsyncIterable<Retained> }
const all = async (it: AsyncIterable<Retained>) => { const out: string[] = []; for await (const r of it) out.push(`${r.topic}=${r.payload.toString()}@${r.qos}`); return out }
const pub = (topic: string, payload: string | Buffer, qos = 1) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: true, dup: false, messageId: 7 })
/** aedes hands storeRetained its own Packet, a new object holding the publish's payload Buffer. */
const aedesPacket = (p: ReturnType<typeof pub>) => ({ ...p, brokerId: 'b', brokerCounter: 1 })

async function open(dir: string) {
  const history = await LevelHistory.open(join(dir, 'history'))
  const broker = new Level<string, Buffer>(join(dir, 'broker'), { valueEncoding: 'buffer' })
  await broker.open()
  const { persistence, retained } = brokerPersistence(broker, history.retained)
  const p = persistence as unknown as Store
  await p.setup({})
  const batches: string[][] = []
  const db = history.level as unknown as { batch: (ops: { type: string; key: string }[], o?: unknown) => Promise<void> }
  const batch = db.batch.bind(db)
  db.batch = (ops, o) => { batches.push(ops.map((op) => `${op.type} ${op.key.split('\x00')[0]}`)); return batch(ops, o) }
  return { history, broker, p, retained, batches, close: async () => { await broker.close(); await history.close() } }
}

test('retained messages are answered from memory, kept in the history database and read again at start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'othub-retained-'))
  try {
    const big = 'ü'.repeat(40_000)
    let h = await open(dir)
    await h.p.storeRetained(pub('owntracks/jane/phone', '{"_type":"location"}'))
    await h.p.storeRetained(pub('owntracks/fred/phone', 'gone'))
    await h.p.storeRetained(pub('owntracks/jane/phone/info', big, 0))
    await h.p.storeRetained(pub('$SYS/broker/uptime', '5 seconds', 0))
    await h.p.storeRetained(pub('owntracks/fred/phone', '')) // an empty retained publish clears
    assert.deepEqual(await all(h.p.createRetainedStreamCombi(['owntracks/jane/phone', 'owntracks/+/phone'])),
      ['owntracks/jane/phone={"_type":"location"}@1', 'owntracks/jane/phone={"_type":"location"}@1'])
    assert.deepEqual(await all(h.p.createRetainedStream('#')), ['owntracks/jane/phone={"_type":"location"}@1', `owntracks/jane/phone/info=${big}@0`])
    assert.deepEqual(await all(h.p.createRetainedStream('$SYS/#')), ['$SYS/broker/uptime=5 seconds@0'])
    assert.equal(h.retained.count(), 3)
    await h.close()

    h = await open(dir)
    assert.deepEqual(await all(h.p.createRetainedStreamCombi(['owntracks/#', '$SYS/broker/uptime'])),
      ['owntracks/jane/phone={"_type":"location"}@1', `owntracks/jane/phone/info=${big}@0`, '$SYS/broker/uptime=5 seconds@0'])
    await h.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a phone's retained location goes to disk in the batch that stores it in the history; a write between keeps disk and memory alike", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'othub-retained-'))
  try {
    let h = await open(dir)
    const loc = pub('owntracks/jane/phone', '{"_type":"location","lat":1,"lon":2,"tst":1700000000}')
    const written = h.history.write([{ user: 'jane', device: 'phone', topic: loc.topic, message: { _type: 'location', lat: 1, lon: 2, tst: 1_700_000_000 } }])
    h.retained.alongside(loc) // as Ingest does: once the record is staged
    await written
    await h.p.storeRetained(aedesPacket(loc))
    assert.deepEqual(h.batches, [['put L', 'put D', 'put T']], 'one batch: the location, the device summary, the retained copy')
    assert.deepEqual(await all(h.p.createRetainedStream('owntracks/jane/phone')), [`owntracks/jane/phone=${loc.payload}@1`])

    // Another client clears the topic after this publish was staged but before aedes stores it: memory
    // ends with the publish (aedes' order), so the disk must too.
    const again = pub('owntracks/jane/phone', '{"_type":"location","lat":3,"lon":4,"tst":1700000100}')
    const second = h.history.write([{ user: 'jane', device: 'phone', topic: again.topic, message: { _type: 'location', lat: 3, lon: 4, tst: 1_700_000_100 } }])
    h.retained.alongside(again)
    await second
    await h.p.storeRetained(pub('owntracks/jane/phone', ''))
    await h.p.storeRetained(aedesPacket(again))
    assert.deepEqual(await all(h.p.createRetainedStream('owntracks/jane/phone')), [`owntracks/jane/phone=${again.payload}@1`])
    await h.close()
    h = await open(dir)
    assert.deepEqual(await all(h.p.createRetainedStream('owntracks/jane/phone')), [`owntracks/jane/phone=${again.payload}@1`], 'the disk agrees after a restart')
    await h.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("an older hub's retained messages in the broker database are moved at the first start", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'othub-retained-'))
  try {
    const old = new Level<string, Buffer>(join(dir, 'broker'), { valueEncoding: 'buffer' })
    const plain = new AsyncLevelPersistence(old) as unknown as Store
    await plain.setup({})
    await plain.storeRetained(pub('owntracks/jane/phone', 'old location'))
    await plain.storeRetained(pub('owntracks/jane/phone/info', 'old card', 0))
    await old.close()
    let h = await open(dir)
    assert.deepEqual(await all(h.p.createRetainedStream('#')), ['owntracks/jane/phone=old location@1', 'owntracks/jane/phone/info=old card@0'])
    const left: string[] = []
    for await (const k of h.broker.keys()) if (k.startsWith('retained:')) left.push(k)
    assert.deepEqual(left, [], 'nothing is left in the broker database')
    await h.p.storeRetained(pub('owntracks/jane/phone', 'new location'))
    await h.close()
    h = await open(dir)
    assert.deepEqual(await all(h.p.createRetainedStream('#')), ['owntracks/jane/phone=new location@1', 'owntracks/jane/phone/info=old card@0'])
    await h.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
