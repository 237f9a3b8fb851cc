import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../helpers/hub.js'
import { LevelHistory } from '../../src/store/history-level.js'
import type { OwnTracksMessage } from '../../src/owntracks/types.js'

const dir = tempDir('othub-hist-')
let h: LevelHistory
before(async () => { h = await LevelHistory.open(join(dir, 'history')) })
after(async () => { await h.close(); rmSync(dir, { recursive: true, force: true }) })

const loc = (tst: number, extra: Record<string, unknown> = {}): OwnTracksMessage => ({ _type: 'location', lat: 1, lon: 2, tst, ...extra })
const rec = (message: OwnTracksMessage, device = 'phone') => ({ user: 'jane', device, message, topic: `owntracks/jane/${device}` })
const all = async (it: AsyncIterable<Record<string, unknown>>) => { const out = []; for await (const x of it) out.push(x); return out }

test('an offline backlog arriving late reads back in tst order, and the last location stays the newest', async () => {
  await h.write([rec(loc(1000)), rec(loc(3000))])
  await h.write([rec(loc(2000)), rec(loc(1500))]) // the phone's queue, flushed after reconnecting
  const got = await all(h.locations('jane', 'phone', { from: 0, to: 10_000 }))
  assert.deepEqual(got.map((l) => l.tst), [1000, 1500, 2000, 3000])
  assert.equal(h.device('jane', 'phone')!.last!.tst, 3000)
})

test('a QoS 1 redelivery is stored once; a different message with the same tst is kept too', async () => {
  await h.write([rec(loc(5000, { batt: 50 }), 'tab')])
  await h.write([rec(loc(5000, { batt: 50 }), 'tab')])
  await h.write([rec(loc(5000, { batt: 49 }), 'tab')])
  const got = await all(h.locations('jane', 'tab', { from: 0, to: 10_000 }))
  assert.deepEqual(got.map((l) => l.batt).sort(), [49, 50])
})

test('ranges are inclusive, limit gives the newest N ascending, months are listed', async () => {
  const w = 'watch'
  const base = Date.UTC(2024, 0, 31, 23, 59, 0) / 1000
  await h.write([0, 60, 120, 180].map((d) => rec(loc(base + d), w)))
  assert.deepEqual((await all(h.locations('jane', w, { from: base + 60, to: base + 120 }))).map((l) => l.tst), [base + 60, base + 120])
  assert.deepEqual((await all(h.locations('jane', w, { from: 0, to: base + 1000, limit: 2 }))).map((l) => l.tst), [base + 120, base + 180])
  assert.deepEqual(h.device('jane', w)!.months, ['2024-01', '2024-02'])
})

test('other types are kept apart from locations; a card on …/info becomes the device card', async () => {
  await h.write([rec({ _type: 'card', name: 'Not a card topic' }, 'car')])
  assert.equal(h.device('jane', 'car')?.card, undefined, 'a card on the location topic is not the device card')
  await h.write([rec({ _type: 'transition', event: 'enter', desc: 'Home', tst: 7000 }, 'car'), { ...rec({ _type: 'card', name: 'Jane' }, 'car'), topic: 'owntracks/jane/car/info' }])
  assert.equal((await all(h.locations('jane', 'car', { from: 0, to: 1e10 }))).length, 0)
  assert.equal((await all(h.records('jane', 'car', 'transition', { from: 0, to: 1e10 })))[0].desc, 'Home')
  assert.equal(h.device('jane', 'car')!.card!.name, 'Jane')
})

test('device summaries and history survive reopening; deleteDevice removes one device only', async () => {
  await h.close()
  h = await LevelHistory.open(join(dir, 'history'))
  assert.equal(h.device('jane', 'phone')!.last!.tst, 3000)
  assert.equal(await h.deleteDevice('jane', 'phone'), 4)
  assert.equal(h.device('jane', 'phone'), undefined)
  assert.equal((await all(h.locations('jane', 'phone', { from: 0, to: 1e10 }))).length, 0)
  assert.ok(h.device('jane', 'tab'))
})

test('no user or device name reaches into another key part: a part holding NUL is refused, not joined', async () => {
  await h.write([rec(loc(100), 'keyed'), rec(loc(90_000), 'keyed')])
  const crafted = `keyed\u0000${String(100).padStart(11, '0')}`
  await assert.rejects(all(h.locations('jane', crafted, { from: 0, to: 99_999_999_998 })), /NUL/)
  assert.throws(() => h.device('jane\u0000keyed', 'x'), /NUL/)
  assert.deepEqual((await all(h.locations('jane', 'keyed', { from: 50_000, to: 99_999 }))).map((l) => l.tst), [90_000])
})

test('the stored device summary is the JSON of its newest location, topic, card and months, and survives a reopen', async () => {
  const card = { _type: 'card', name: 'Jane "J" Doe', face: 'aGk=' } as OwnTracksMessage
  await h.write([rec(loc(86_400 * 40, { batt: 7, tid: 'jd', note: 'ü\u2028' }), 'sum'), { user: 'jane', device: 'sum', message: card, topic: 'owntracks/jane/sum/info' }])
  await h.write([rec(loc(86_400 * 2), 'sum'), rec(loc(86_400 * 70, { acc: 3 }), 'sum')])
  const expected = JSON.stringify({ last: loc(86_400 * 70, { acc: 3 }), lastTopic: 'owntracks/jane/sum', card, months: ['1970-01', '1970-02', '1970-03'] })
  assert.equal(await h.level.get('D\x00jane\x00sum'), expected)
  await h.close()
  h = await LevelHistory.open(join(dir, 'history'))
  await h.write([rec(loc(86_400 * 71), 'sum')])
  assert.equal(await h.level.get('D\x00jane\x00sum'), JSON.stringify({ last: loc(86_400 * 71), lastTopic: 'owntracks/jane/sum', card, months: ['1970-01', '1970-02', '1970-03'] }))
  assert.deepEqual(h.device('jane', 'sum')!.card, card)
})

test('a burst of one device\'s locations in one batch writes its summary once, as it stands after the newest', async () => {
  const d = await LevelHistory.open(join(dir, 'burst'))
  try {
    const batches: string[][] = []
    const batch = d.level.batch.bind(d.level)
    ;(d.level as unknown as { batch: (ops: { key: string }[], o: unknown) => Promise<void> }).batch = (ops, o) => { batches.push(ops.map((op) => op.key)); return batch(ops as never, o as never) }
    // One turn's writes from two devices (as a group commit gathers them), then one more while it commits.
    const first = Array.from({ length: 10 }, (_, i) => d.write([rec(loc(86_400 * 31 + i * 60), i % 2 ? 'a' : 'b')]))
    await Promise.all([...first, d.write([rec(loc(86_400 * 40), 'a')])])
    const summaries = batches.map((keys) => keys.filter((k) => k.startsWith('D\x00')).sort())
    assert.deepEqual(summaries[0], ['D\x00jane\x00a', 'D\x00jane\x00b'])
    assert.ok(summaries.every((s) => new Set(s).size === s.length), `a summary once per batch: ${JSON.stringify(summaries)}`)
    assert.equal(JSON.parse(await d.level.get('D\x00jane\x00b') as string).last.tst, 86_400 * 31 + 8 * 60)
    assert.equal(JSON.parse(await d.level.get('D\x00jane\x00a') as string).last.tst, 86_400 * 40)
    assert.deepEqual(JSON.parse(await d.level.get('D\x00jane\x00a') as string).months, ['1970-02'])
  } finally { await d.close() }
})

test('a day made stale is deleted once until it is made again; a failed batch forgets what it deleted', async () => {
  const d = await LevelHistory.open(join(dir, 'derived'))
  try {
    const day = 'S\x00jane\x00phone\x002024-01-01'
    d.onLocation(() => [day])
    const db = d.level as unknown as { batch: (ops: { type: string; key: string }[], o?: unknown) => Promise<void> }
    const batch = db.batch.bind(db)
    const deletes: number[] = []
    let fail = false
    db.batch = async (ops, o) => {
      deletes.push(ops.filter((op) => op.type === 'del' && op.key === day).length)
      if (fail) throw Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' })
      return batch(ops, o)
    }
    await d.putDerived(day, '{"made":1}')
    await d.write([rec(loc(1_704_103_200))])
    assert.equal(await d.level.get(day), undefined, 'the fix deleted the day it makes stale')
    await d.write([rec(loc(1_704_103_260))])
    assert.deepEqual(deletes, [0, 1, 0], 'already deleted, and nothing written since: not deleted again')
    await d.putDerived(day, '{"made":2}')
    await d.write([rec(loc(1_704_103_320))])
    assert.equal(await d.level.get(day), undefined, 'made again, then stale again: deleted again')
    fail = true
    await assert.rejects(d.write([rec(loc(1_704_103_380))]))
    fail = false
    await d.write([rec(loc(1_704_103_440))])
    assert.deepEqual(deletes, [0, 1, 0, 0, 1, 0, 1], 'after a failed batch (its fix needed no delete) the next one sends it again')
  } finally {
    await d.close()
  }
})
