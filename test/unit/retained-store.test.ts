import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { tempDir, waitFor } from '../helpers/hub.js'
import { createLogger } from '../../src/log.js'
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import { Level } from 'level'
import { brokerPersistence } from '../../src/mqtt/persistence.js'

/*
 * The broker keeps retained messages in memory and writes them itself (mqtt/retained.ts). What it writes
 * must stay what aedes-persistence-level reads: a data directory goes on working with the plain package.
 */
interface Retained { topic: string; payload: Buffer; qos: number }
type Store = { setup(b: unknown): Promise<void>; storeRetained(p: object): Promise<void>; createRetainedStreamCombi(f: string[]): AsyncIterable<Retained>; createRetainedStream(f: string): AsyncIterable<Retained> }
const all = async (it: AsyncIterable<Retained>) => { const out: string[] = []; for await (const r of it) out.push(`${r.topic}=${r.payload.toString()}@${r.qos}`); return out }
/** Runs `fn` with a temp dir of its own, removed afterwards. */
async function inDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir('othub-retained-')
  try {
    await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The broker's database in `dir`, opened. */
async function openState(dir: string): Promise<Level<string, Buffer>> {
  const db = new Level<string, Buffer>(join(dir, 'state'), { valueEncoding: 'buffer' })
  await db.open()
  return db
}

/** The keys of each batch written to `db` from now on, in order. */
function recordBatches(db: Level<string, Buffer>): string[][] {
  const batches: string[][] = []
  const batch = db.batch.bind(db)
  ;(db as unknown as { batch: (ops: { key: string }[]) => Promise<void> }).batch = (ops) => { batches.push(ops.map((o) => o.key)); return batch(ops as never) }
  return batches
}

const log = createLogger({ logLevel: 'error', logFormat: 'text' }, new Writable({ write: (_c, _e, cb) => cb() }))
const pub = (topic: string, payload: string | Buffer, qos = 1) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: true, dup: false, messageId: 7 })

test('retained messages are answered from memory, written so that aedes-persistence-level reads them back, and read again at start', () => inDir(async (dir) => {
  const big = 'ü'.repeat(40_000) // a payload past 64 kB: the longest msgpack length form
  let db = await openState(dir)
  const first = brokerPersistence(db, log)
  let p = first.persistence as unknown as Store
  await p.setup({})
  await p.storeRetained(pub('owntracks/jane/phone', '{"_type":"location"}'))
  await p.storeRetained(pub('owntracks/fred/phone', 'gone'))
  await p.storeRetained(pub('owntracks/jane/phone/info', big, 0))
  await p.storeRetained(pub('$SYS/broker/uptime', '5 seconds', 0))
  assert.equal(first.retainedCount(), 4, "$SYS's count of retained messages")
  await p.storeRetained(pub('owntracks/fred/phone', '')) // an empty retained publish clears
  assert.equal(first.retainedCount(), 3)
  assert.deepEqual(await all(p.createRetainedStreamCombi(['owntracks/jane/phone', 'owntracks/+/phone'])),
    ['owntracks/jane/phone={"_type":"location"}@1', 'owntracks/jane/phone={"_type":"location"}@1'])
  assert.deepEqual(await all(p.createRetainedStream('#')), ['owntracks/jane/phone={"_type":"location"}@1', `owntracks/jane/phone/info=${big}@0`])
  assert.deepEqual(await all(p.createRetainedStream('$SYS/#')), ['$SYS/broker/uptime=5 seconds@0'])
  await db.close()

  db = await openState(dir)
  const plain = new AsyncLevelPersistence(db) as unknown as Store
  assert.deepEqual(await all(plain.createRetainedStream('#')), ['$SYS/broker/uptime=5 seconds@0', 'owntracks/jane/phone={"_type":"location"}@1', `owntracks/jane/phone/info=${big}@0`])
  const again = brokerPersistence(db, log)
  p = again.persistence as unknown as Store
  await p.setup({})
  assert.equal(again.retainedCount(), 3, 'counted from what is read at start')
  assert.deepEqual(await all(p.createRetainedStreamCombi(['owntracks/#', '$SYS/broker/uptime'])),
    ['owntracks/jane/phone={"_type":"location"}@1', `owntracks/jane/phone/info=${big}@0`, '$SYS/broker/uptime=5 seconds@0'])
  await db.close()
}))

test('a burst of retained publishes reaches the disk as each topic\'s newest, also when batches queue behind one in flight', () => inDir(async (dir) => {
  let db = await openState(dir)
  const batches = recordBatches(db)
  const p = brokerPersistence(db, log).persistence as unknown as Store
  await p.setup({})
  // Three turns' worth of writes: the first turn's batch is in flight while the others are staged.
  const acks: Promise<void>[] = []
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 10; i++) acks.push(p.storeRetained(pub('owntracks/jane/phone', `t${turn}-${i}`)))
    acks.push(p.storeRetained(pub(`owntracks/fred/d${turn}`, 'here')))
    if (turn === 1) acks.push(p.storeRetained(pub('owntracks/fred/d0', ''))) // cleared after it was set
    await new Promise((r) => setImmediate(r))
  }
  await Promise.all(acks)
  // Turns whose batch waited behind one in flight go together: still each topic once.
  assert.ok(batches.every((keys) => new Set(keys).size === keys.length), `each batch holds a topic once: ${JSON.stringify(batches)}`)
  assert.ok(batches.flat().length < 34, `not a write per publish: ${JSON.stringify(batches)}`)
  await db.close()

  db = await openState(dir)
  const plain = new AsyncLevelPersistence(db) as unknown as Store
  assert.deepEqual(await all(plain.createRetainedStream('#')), ['owntracks/fred/d1=here@1', 'owntracks/fred/d2=here@1', 'owntracks/jane/phone=t2-9@1'])
  await db.close()
}))

test('at a light load a retained publish does not wait for the disk; its change follows within milliseconds, with others in one batch, and a stop writes it', () => inDir(async (dir) => {
  let db = await openState(dir)
  const batches = recordBatches(db)
  const p = brokerPersistence(db, log).persistence as unknown as Store
  await p.setup({})
  for (let i = 0; i < 5; i++) {
    await p.storeRetained(pub(`owntracks/u${i}/phone`, `fix ${i}`))
    assert.equal(batches.length, 0, 'answered before anything is written')
  }
  await waitFor('one batch with the five changes', () => batches.length === 1 && batches[0].length === 5)
  const plain = () => all((new AsyncLevelPersistence(db) as unknown as Store).createRetainedStream('#'))
  assert.equal((await plain()).length, 5)
  // a change still waiting for its batch when the hub stops is written by the stop
  await p.storeRetained(pub('owntracks/u0/phone', 'last'))
  await db.close()
  db = await openState(dir)
  assert.ok((await plain()).includes('owntracks/u0/phone=last@1'), 'written by the stop')
  await db.close()
}))

test('under load a retained publish waits until its change is on disk: the wait paces the publishers', () => inDir(async (dir) => {
  const db = await openState(dir)
  const done = new Set<string>()
  const batch = db.batch.bind(db)
  let started = () => {}
  ;(db as unknown as { batch: (ops: { key: string }[]) => Promise<void> }).batch = async (ops) => {
    started()
    await new Promise((r) => setTimeout(r, 20)) // a slow disk: the batch stays in flight
    await batch(ops as never)
    for (const o of ops) done.add(o.key)
  }
  const p = brokerPersistence(db, log).persistence as unknown as Store
  await p.setup({})
  // more changes at once than a light load has: the later ones start a batch and wait for it
  const answered: string[] = []
  const all100 = Array.from({ length: 100 }, (_, i) => `owntracks/u${i}/phone`)
  await Promise.all(all100.map((t) => p.storeRetained(pub(t, 'x')).then(() => { if (done.has(`retained:${t}`)) answered.push(t) })))
  assert.ok(answered.length >= 60, `most answered only once on disk: ${answered.length} of 100`)
  // a light change goes to disk in a batch of its own; while that is in flight, a new change waits for its batch
  const flying = new Promise<void>((r) => { started = r })
  await p.storeRetained(pub('owntracks/a/phone', '1'))
  assert.equal(done.has('retained:owntracks/a/phone'), false, 'a light change is answered at once')
  await flying
  await p.storeRetained(pub('owntracks/b/phone', '2'))
  assert.ok(done.has('retained:owntracks/b/phone'), 'answered once on disk')
  await db.close()
}))
