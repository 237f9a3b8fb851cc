import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../helpers/hub.js'
import { LevelHistory } from '../../src/store/history-level.js'
import { Days } from '../../src/days/store.js'
import { dayStart, localDate } from '../../src/days/local-time.js'
import { createLogger } from '../../src/log.js'

const dir = tempDir('othub-days-')
let h: LevelHistory
let days: Days
const TZ = 'Europe/Berlin'
const errors: string[] = []
const log = createLogger({ logLevel: 'warn', logFormat: 'text' }, { write: (l: string) => errors.push(l) } as unknown as NodeJS.WritableStream)
before(async () => {
  h = await LevelHistory.open(join(dir, 'history'))
  days = new Days({ history: h, db: h.level, put: (k, v) => h.putDerived(k, v), placeOf: () => ({}), log, zoneOf: () => TZ, refreshMs: 50 })
  h.onLocation(days.stale)
})
after(async () => { await days.close(); await h.close(); rmSync(dir, { recursive: true, force: true }) })

const fix = (tst: number) => ({ user: 'jane', device: 'phone', topic: 'owntracks/jane/phone', message: { _type: 'location' as const, lat: 52.52, lon: 13.4, tst } })
const stored = async (date: string) => h.level.get(`S\x00jane\x00phone\x00${date}`)
const until = async (what: string, ok: () => Promise<boolean>) => {
  for (let i = 0; i < 200; i++) { if (await ok()) return; await new Promise((r) => setTimeout(r, 25)) }
  assert.fail(`timed out waiting for ${what}`)
}

test('a late fix has its past day made again in the background; today is made when it is asked for, not ahead', async () => {
  const now = Math.floor(Date.now() / 1000)
  const today = localDate(now, TZ)
  // a fix of today first, so that the device's zone is known; then the phone's backlog from last week
  await h.write([fix(now)])
  const week = now - 7 * 86_400
  await h.write([fix(week)])
  const past = localDate(week, TZ)
  await until('the past day to be stored', async () => (await stored(past)) !== undefined)
  assert.equal(JSON.parse((await stored(past))!).summary.fixes, 1, 'the past day holds the late fix')
  await new Promise((r) => setTimeout(r, 300)) // a few refreshes later
  assert.equal(await stored(today), undefined, 'today is not made in the background: the next fix would throw it away')
  const d = await days.day('jane', 'phone', today)
  assert.equal(d.summary.fixes, 1, 'asked for, today is made from its fixes')
  assert.ok((await stored(today)) !== undefined, 'and kept until the next fix')
  await h.write([fix(now + 1)])
  assert.equal(await stored(today), undefined, 'a new fix of today throws it away')
  assert.equal((await days.day('jane', 'phone', today)).summary.fixes, 2)
  assert.deepEqual(errors, [])
})

test('thousands of phones publishing today: the background refresh looks at their devices a slice at a time, and the event loop keeps turning meanwhile', async () => {
  const now = Math.floor(Date.now() / 1000)
  // The refresh runs in the background (refreshMs after the fixes are staged, maybe before their write
  // has committed); count the turns others get while it runs, from before the fixes arrive.
  const d = days as unknown as { running?: Promise<void> }
  let turnsDuring = 0
  let seen = false
  const started = Date.now()
  const ticking = new Promise<void>((resolve) => {
    const tick = () => {
      if (d.running) { seen = true; turnsDuring++ } else if (seen || Date.now() - started > 10_000) return resolve()
      setImmediate(tick)
    }
    tick()
  })
  await h.write(Array.from({ length: 3000 }, (_, i) => ({ user: `u${i % 50}`, device: `d${i}`, topic: `owntracks/u${i % 50}/d${i}`, message: { _type: 'location' as const, lat: 52.52, lon: 13.4, tst: now } })))
  await ticking
  assert.ok(seen && turnsDuring > 1, `other work had ${turnsDuring} turns while the refresh ran: it held the event loop for all 3,000 devices at once`)
  assert.deepEqual(errors, [])
})

test('a backlog still arriving has its days made once it pauses, not again at every refresh', async () => {
  const d2 = tempDir('othub-days-backlog-')
  const h2 = await LevelHistory.open(join(d2, 'history'))
  const made: string[] = []
  const days2 = new Days({ history: h2, db: h2.level, put: (k, v) => { made.push(k); return h2.putDerived(k, v) }, placeOf: () => ({}), log, zoneOf: () => TZ, refreshMs: 50 })
  h2.onLocation(days2.stale)
  try {
    const now = Math.floor(Date.now() / 1000)
    await h2.write([{ ...fix(now), user: 'kim' }])
    // A phone back online uploads last week, a fix every 5 ms for a second: twenty refresh intervals.
    const past = localDate(now - 7 * 86_400, TZ)
    const week = dayStart(past, TZ) + 12 * 3600 // its noon: the backlog stays within the day
    let n = 0
    for (const until = Date.now() + 1000; Date.now() < until; n++) {
      await h2.write([{ ...fix(week + n), user: 'kim' }])
      await new Promise((r) => setTimeout(r, 5))
    }
    const key = `S\x00kim\x00phone\x00${past}`
    await until('the day of the backlog to be made', async () => (await h2.level.get(key)) !== undefined)
    assert.equal(JSON.parse((await h2.level.get(key))!).summary.fixes, n, 'made from the whole backlog')
    assert.ok(made.filter((k) => k === key).length <= 3, `made ${made.filter((k) => k === key).length} times while it arrived`)
    assert.deepEqual(errors, [])
  } finally {
    await days2.close(); await h2.close(); rmSync(d2, { recursive: true, force: true })
  }
})
