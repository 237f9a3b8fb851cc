import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, describe, test } from 'node:test'
import { AccessControl } from '../../src/access/access.js'
import { Alerts } from '../../src/alerts/alerts.js'
import { Webhooks } from '../../src/alerts/webhooks.js'
import { createLogger } from '../../src/log.js'
import { Places } from '../../src/places/places.js'
import { receiver } from '../helpers/alert-receivers.js'
import { waitFor, tempDir } from '../helpers/hub.js'

/** "not arrived by" runs on the hub's clock; here the clock is the test's. */
describe('alerts: "lisa not at school by 08:30 on school days", with quiet hours', async () => {
  const dir = tempDir('othub-alerts-')
  const hook = await receiver(() => 200)
  let lines = ''
  const log = createLogger({ logLevel: 'info', logFormat: 'text' }, new Writable({ write(c, _e, cb) { lines += c.toString(); cb() } }))
  writeFileSync(join(dir, 'places.yml'), [
    'timezone: Europe/Berlin',
    'places:',
    '  - { name: school, owner: lisa, lat: 52.52, lon: 13.405, radius: 150m }',
    'alerts:',
    '  - about: lisa',
    '    to: mum',
    '    places: [school]',
    '    not-arrived-by: "08:30"',
    '    days: [mon, tue, wed, thu, fri]',
    `    webhook: ${hook.url}/#family`,
    '  - about: lisa',
    '    to: mum',
    '    places: [school]',
    '    on: [leave]',
    '    quiet: 22:00-07:00',
    `    webhook: ${hook.url}/#family`,
    '',
  ].join('\n'))
  const access = new AccessControl(dir, 'owntracks', log)
  access.load()
  const places = new Places(dir, access, () => ['lisa', 'mum'], log, 'UTC')
  assert.ok(places.load())
  let now = Date.parse('2026-12-07T08:00:00+01:00') // a Monday, Berlin
  const webhooks = new Webhooks(log, { retryDelays: [] })
  const alerts = new Alerts({ places, webhooks, log, devicesOf: () => ['phone'], now: () => now })
  const at = (iso: string) => { now = Date.parse(iso); alerts.tick() }
  const bodies = () => hook.got.map((r) => JSON.parse(r.body.toString()) as Record<string, unknown>)
  after(async () => { alerts.close(); webhooks.close(); await hook.close(); rmSync(dir, { recursive: true, force: true }) })

  test('Monday, she is not there: one alert at 08:30, and only one', async () => {
    at('2026-12-07T08:29:00+01:00')
    assert.equal(hook.got.length, 0)
    at('2026-12-07T08:30:10+01:00')
    at('2026-12-07T08:31:00+01:00')
    at('2026-12-07T09:45:00+01:00')
    await waitFor('the webhook', () => hook.got.length >= 1)
    await waitFor('its log line', () => /Alert webhook .*delivered/.test(lines))
    assert.equal(hook.got.length, 1)
    assert.deepEqual(bodies().map((b) => [b.event, b.user, b.place, b.topic, b.message]), [['not-arrived', 'lisa', 'school', 'family', 'lisa has not arrived at school by 08:30']])
  })

  test('Tuesday, she arrived at 08:10: nothing at 08:30', async () => {
    at('2026-12-08T07:00:00+01:00')
    places.tracker.observe('lisa', 'phone', { lat: 52.52, lon: 13.405, acc: 10, tst: Date.parse('2026-12-08T08:10:00+01:00') / 1000 })
    at('2026-12-08T08:30:00+01:00')
    at('2026-12-08T08:40:00+01:00')
    assert.equal(places.tracker.current('lisa', 'phone')?.place.name, 'school')
    assert.equal(hook.got.length, 1)
  })

  test('Saturday is not a school day: nothing', () => {
    places.tracker.observe('lisa', 'phone', { lat: 52.6, lon: 13.405, acc: 10, tst: Date.parse('2026-12-12T07:00:00+01:00') / 1000 })
    at('2026-12-12T08:00:00+01:00')
    at('2026-12-12T08:35:00+01:00')
    assert.equal(places.tracker.current('lisa', 'phone'), undefined)
    assert.equal(hook.got.length, 1)
  })

  test('a leave inside quiet hours is not sent; at 07:00 it is', async () => {
    const t = { user: 'lisa', device: 'phone', place: places.current.places[0], event: 'leave' as const, tst: 1, fix: { lat: 0, lon: 0, tst: 1 } }
    now = Date.parse('2026-12-14T23:30:00+01:00')
    alerts.transition(t)
    assert.match(lines, /not sent: quiet hours 22:00-07:00/)
    now = Date.parse('2026-12-15T07:00:00+01:00')
    alerts.transition(t)
    await waitFor('the leave', () => hook.got.length >= 2)
    assert.deepEqual(bodies().map((b) => b.event), ['not-arrived', 'leave'])
  })
})
