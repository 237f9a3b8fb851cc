import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { pw } from '../helpers/users.js'
import { receiver } from '../helpers/alert-receivers.js'

type Msg = Record<string, unknown>

const SCHOOL = { lat: 52.52, lon: 13.405 }
const FAR = { lat: 52.6, lon: 13.5 }

/*
 * "lisa is not at school by 08:30 on school days", on the hub's own clock. The hub runs on an injected
 * clock (OTHUB_TEST_CLOCK, README "Configuration"): Monday 7 December 2026, 08:05 in Berlin, 30 times as
 * fast, so the clock passes 08:30 some fifty seconds after the start (room for a slow machine to set up). Every rule below names 08:30 (or a
 * later minute) and differs in one thing only; the last one (08:36, a place nobody is at) is the marker:
 * once it has fired, every earlier minute has been looked at, so what did not come by then never will.
 */
const RULE = (about: string, hook: string, extra: string[], places = '[school]') => [
  `  - about: ${about}`,
  '    to: mum',
  `    places: ${places}`,
  ...extra,
  `    webhook: ${hook}`,
]

describe('alerts on the hub\'s clock: "lisa not at school by 08:30" fires once, on MQTT and the webhook, and only when it should', () => {
  let root: string
  let hub: RunningHub
  let lisa: MqttClient
  let tom: MqttClient
  let mum: Receiver
  let bob: Receiver
  const hook = receiver(() => 200)
  const tst = Math.floor(Date.now() / 1000) - 600

  before(async () => {
    root = tempDir()
    const data = join(root, 'data')
    const aclDir = join(root, 'acl')
    mkdirSync(aclDir, { recursive: true })
    for (const u of ['lisa', 'tom', 'mum', 'bob']) assert.equal((await runCli(['user', 'add', u, '--password', pw(u), '--data', data])).code, 0)
    const url = (await hook).url
    writeFileSync(join(aclDir, 'places.yml'), [
      'timezone: Europe/Berlin',
      'places:',
      ...['lisa', 'tom'].flatMap((owner) => ['  - name: school', `    owner: ${owner}`, `    lat: ${SCHOOL.lat}`, `    lon: ${SCHOOL.lon}`, '    radius: 150m']),
      '  - name: library',
      '    owner: lisa',
      `    lat: ${FAR.lat + 0.1}`,
      `    lon: ${FAR.lon}`,
      '    radius: 100m',
      'alerts:',
      ...RULE('lisa', `${url}/#lisa-school-days`, ['    not-arrived-by: "08:30"', '    days: [mon, tue, wed, thu, fri]']),
      ...RULE('tom', `${url}/#tom-school-days`, ['    not-arrived-by: "08:30"', '    days: [mon, tue, wed, thu, fri]']),
      ...RULE('lisa', `${url}/#lisa-weekends`, ['    not-arrived-by: "08:30"', '    days: [sat, sun]']),
      ...RULE('lisa', `${url}/#lisa-quiet`, ['    not-arrived-by: "08:30"', '    quiet: 08:00-09:00']),
      ...RULE('lisa', `${url}/#lisa-by-0834`, ['    not-arrived-by: "08:34"', '    days: [mon, tue, wed, thu, fri]']),
      ...RULE('lisa', `${url}/#marker`, ['    not-arrived-by: "08:36"'], '[library]'),
      '',
    ].join('\n'))
    hub = await startHub({ dataDir: data, aclDir, env: { OTHUB_TEST_CLOCK: '2026-12-07T08:05:00+01:00 x30' } })
    lisa = await phone(hub.mqttPort, 'lisa', pw('lisa'))
    tom = await phone(hub.mqttPort, 'tom', pw('tom'))
    mum = await Receiver.connect(hub, 'mum')
    await mum.subscribe('othub/alerts/mum')
    bob = await Receiver.connect(hub, 'bob')
    await bob.subscribe('othub/alerts/#')
    // lisa is far from school; tom is there
    await lisa.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', ...FAR, acc: 10, tst }), { qos: 1 })
    await tom.publishAsync('owntracks/tom/phone', JSON.stringify({ _type: 'location', tid: 'to', ...SCHOOL, acc: 10, tst }), { qos: 1 })
    await hub.waitForLog(/Place: tom\/phone entered school/)
    assert.doesNotMatch(hub.logs(), /Alert \(/, 'set up before the clock reached 08:30')
  })

  after(async () => {
    await lisa?.endAsync()
    await tom?.endAsync()
    await mum?.end()
    await bob?.end()
    await hub?.stop()
    await (await hook).close()
    if (root) rmSync(root, { recursive: true, force: true })
  })

  const topics = async () => (await hook).got.map((r) => (JSON.parse(r.body.toString()) as Msg).topic)

  test('the clock is the injected one, and the hub says so', () => {
    assert.match(hub.logs(), /OTHUB_TEST_CLOCK: the alerts' clock starts at 2026-12-07T07:05:00\.000Z and runs 30× as fast \(for tests only\)/)
  })

  test('08:30 on a Monday, lisa is not at school: one alert, to mum over MQTT and to the webhook', async () => {
    await waitFor('the 08:30 alert', async () => (await topics()).includes('lisa-school-days'), 120_000)
    const body = JSON.parse((await hook).got.find((r) => (JSON.parse(r.body.toString()) as Msg).topic === 'lisa-school-days')!.body.toString()) as Msg
    assert.equal(body.message, 'lisa has not arrived at school by 08:30')
    assert.deepEqual([body.event, body.user, body.place], ['not-arrived', 'lisa', 'school'])
    // the hub's clock said 08:30 in Berlin
    assert.equal(new Date((body.tst as number) * 1000).toISOString().slice(0, 16), '2026-12-07T07:30')
    await mum.settle()
    const got = mum.messages().map((m): Msg => ({ topic: m.topic, ...(JSON.parse(m.payload) as Msg) }))
    assert.deepEqual(got.map((m) => [m.topic, m.event, m.user, m.place, m.message]), [['othub/alerts/mum', 'not-arrived', 'lisa', 'school', 'lisa has not arrived at school by 08:30']])
    // now she arrives: the 08:34 rule must stay silent
    await lisa.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', ...SCHOOL, acc: 10, tst: tst + 60 }), { qos: 1 })
    await hub.waitForLog(/Place: lisa\/phone entered school/)
  })

  test('by the marker (08:36): only that one alert, once; not for tom who is there, not on a school-day rule for weekends, not in quiet hours, not once she arrived', async () => {
    await waitFor('the 08:36 marker', async () => (await topics()).includes('marker'), 60_000)
    assert.deepEqual(await topics(), ['lisa-school-days', 'marker'])
    const lines = hub.logs().split('\n').filter((l) => /Alert \(.*line \d+\)/.test(l))
    assert.equal(lines.filter((l) => /has not arrived at school by 08:30/.test(l)).length, 1, lines.join('\n'))
    assert.equal(lines.filter((l) => /tom has not arrived/.test(l)).length, 0, lines.join('\n'))
    assert.equal(lines.filter((l) => /by 08:34/.test(l)).length, 0, lines.join('\n'))
    assert.equal(lines.filter((l) => /not sent: quiet hours 08:00-09:00/.test(l)).length, 1, lines.join('\n'))
    await mum.settle()
    assert.deepEqual(mum.messages().map((m) => (JSON.parse(m.payload) as Msg).place), ['school', 'library'])
  })

  test('mum\'s alerts are hers: bob, subscribed to othub/alerts/#, got none', async () => {
    await bob.settle()
    assert.deepEqual(bob.messages(), [])
  })
})
