import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { launchBrowser, watchedPage, type TestBrowser } from '../helpers/browser.js'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, collect, location, phone } from '../helpers/phone.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'
import { addUsers } from '../helpers/users.js'

type Cmd = { _type: string; action: string; request: string; status?: number; error?: string; tour?: Record<string, string>; tours?: Record<string, string>[]; ntours?: number }

const utc = (tst: number) => new Date(tst * 1000).toISOString().slice(0, 19) // the apps' form: UTC, no zone

describe('tours, as the OwnTracks apps request them (booklet features/tours.md)', () => {
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  let fred: MqttClient
  let answers: { topic: string; payload: string }[]
  const now = Math.floor(Date.now() / 1000)
  const base = now - 2 * 86400
  const window = { from: base + 1000, to: base + 2000 }
  const fixes = [500, 800, 1000, 1300, 1600, 2000, 2300, 2600].map((d) => base + d)
  const inside = fixes.filter((t) => t >= window.from && t <= window.to)
  const tours: Record<string, { uuid: string; url: string }> = {}

  /** Publishes a request as fred's phone and returns the next cmd answer on its own cmd topic. */
  const ask = async (request: Record<string, unknown>): Promise<Cmd> => {
    const seen = answers.length
    await fred.publishAsync('owntracks/fred/phone/request', JSON.stringify({ _type: 'request', ...request }), { qos: 1 })
    const a = await waitFor('the answer on owntracks/fred/phone/cmd', () => answers[seen])
    assert.equal(a.topic, 'owntracks/fred/phone/cmd')
    return JSON.parse(a.payload) as Cmd
  }

  before(async () => {
    tiles = await startTileServer()
    hub = await startHub({ args: ['--tile-url', tiles.url] })
    await addUsers(hub, 'fred')
    fred = await phone(hub.mqttPort, 'fred', 'fred-pw')
    const got = collect(fred)
    answers = got
    await fred.subscribeAsync('owntracks/fred/phone/cmd', { qos: 1 })
    for (const tst of [...fixes, now]) {
      await fred.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr', lat: 50 + (tst - base) / 10_000, lon: 8, tst })), { qos: 1, retain: true })
    }
    b = await launchBrowser()
  })

  after(async () => {
    await fred?.endAsync()
    await b?.close()
    await hub?.stop()
    await tiles?.close()
  })

  test('a tour requested over MQTT is answered on .../cmd with its uuid and url, and kept in the data directory', async () => {
    const a = await ask({ request: 'tour', tour: { label: 'Meeting in Essen', from: utc(window.from), to: utc(window.to) } })
    assert.deepEqual({ ...a, tour: undefined }, { _type: 'cmd', action: 'response', request: 'tour', status: 200, tour: undefined })
    const t = a.tour!
    assert.deepEqual([t.label, t.from, t.to], ['Meeting in Essen', utc(window.from), utc(window.to)])
    assert.match(t.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.equal(t.url, `http://127.0.0.1:${hub.httpPort}/view/${t.uuid}`)
    assert.equal(statSync(join(hub.dataDir, 'tours', `${t.uuid}.json`)).mode & 0o777, 0o600)
    tours.past = { uuid: t.uuid, url: t.url }
  })

  test('its public page shows only the points inside the window, and no "last position" once the window is over', async () => {
    const data = await (await fetch(tours.past.url + '/track')).json() as { points: [number, number, number][]; last: unknown }
    assert.deepEqual(data.points.map((p) => p[2]), inside, 'nothing before from, nothing after to')
    assert.equal(data.last, null, "fred's newest fix is after the window: not shown")
    assert.deepEqual(Object.keys(data).sort(), ['from', 'fromTst', 'label', 'last', 'points', 'to', 'toTst'], 'no battery, no SSID: positions only')
    const { page, errors } = await watchedPage(await b.context())
    const res = await page.goto(tours.past.url)
    assert.equal(res?.status(), 200)
    await page.locator(`#status[data-points="${inside.length}"]`).waitFor()
    assert.equal(await page.locator('#title').textContent(), 'Meeting in Essen')
    assert.equal(await page.locator('#last').count(), 0)
    assert.equal(await page.locator('.leaflet-overlay-pane canvas').count(), 1, 'the track is drawn')
    assert.deepEqual(errors, [])
  })

  test('while the device is inside the window, its last position is shown', async () => {
    const a = await ask({ request: 'tour', tour: { label: 'Today', from: utc(now - 3600), to: utc(now + 3600) } })
    assert.equal(a.status, 200)
    tours.now = { uuid: a.tour!.uuid, url: a.tour!.url }
    const data = await (await fetch(tours.now.url + '/track')).json() as { last: { tst: number } | null }
    assert.equal(data.last?.tst, now)
    const { page, errors } = await watchedPage(await b.context())
    await page.goto(tours.now.url)
    await page.locator('#last').waitFor()
    assert.deepEqual(errors, [])
  })

  test('request "tours" lists the tours of this device', async () => {
    const a = await ask({ request: 'tours' })
    assert.deepEqual([a.action, a.request, a.ntours], ['response', 'tours', 2])
    assert.deepEqual(a.tours!.map((t) => t.uuid).sort(), [tours.past.uuid, tours.now.uuid].sort())
    for (const t of a.tours!) assert.deepEqual(Object.keys(t).sort(), ['device', 'from', 'label', 'to', 'url', 'uuid'])
  })

  test('"untour" deletes a tour: its page and data then answer 404', async () => {
    const { page } = await watchedPage(await b.context())
    await page.goto(tours.past.url)
    await fred.publishAsync('owntracks/fred/phone/request', JSON.stringify({ _type: 'request', request: 'untour', uuid: tours.past.uuid }), { qos: 1 })
    await waitFor('the tour gone', async () => (await fetch(tours.past.url)).status === 404)
    assert.equal((await fetch(tours.past.url + '/track')).status, 404)
    assert.equal((await page.reload())?.status(), 404)
    assert.equal(await page.locator('h1').textContent(), 'Tour not found')
    assert.equal((await ask({ request: 'tours' })).ntours, 1)
  })

  test("nobody else may ask on fred's behalf, not even an admin; a request that cannot become a tour gets status 400 and the reason", async () => {
    const admin = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const seen = answers.length
    await admin.publishAsync('owntracks/fred/phone/request', JSON.stringify({ _type: 'request', request: 'tour', tour: { label: 'x', from: utc(now - 60), to: utc(now) } }), { qos: 1 })
    await hub.waitForLog(/Request on 'owntracks\/fred\/phone\/request' from \S+ ignored: only fred may ask for their own tours\./)
    await admin.endAsync()
    const bad = await ask({ request: 'tour', tour: { label: 'x', from: 'yesterday', to: utc(now) } })
    assert.equal(answers.length, seen + 1, "the admin's request was not answered")
    assert.deepEqual([bad.request, bad.status], ['tour', 400])
    assert.match(bad.error!, /^'tour\.from': 'yesterday' is not a time; use YYYY-MM-DDTHH:MM:SS/)
    const backwards = await ask({ request: 'tour', tour: { label: 'x', from: utc(now), to: utc(now - 60) } })
    assert.match(backwards.error!, /tour\.from .* is after tour\.to/)
    assert.equal((await ask({ request: 'tours' })).ntours, 1, 'no tour was made')
  })

  test('tours survive a restart, even after kill -9, and --public-url is the base of their links', async () => {
    await fred.endAsync()
    await hub.kill9()
    const again = await startHub({ dataDir: hub.dataDir, aclDir: hub.aclDir, args: ['--tile-url', tiles.url, '--public-url', 'https://hub.example.net/ot/'] })
    try {
      // A new, clean session: the old one may rightly get the last answer again (QoS 1, its PUBACK perhaps
      // not yet stored when the hub was killed), which is not the answer to the request below.
      fred = await phone(again.mqttPort, 'fred', 'fred-pw', 'phone', { clientId: 'fredphone-after', clean: true })
      answers = collect(fred)
      await fred.subscribeAsync('owntracks/fred/phone/cmd', { qos: 1 })
      const list = await ask({ request: 'tours' })
      assert.deepEqual(list.tours!.map((t) => t.url), [`https://hub.example.net/ot/view/${tours.now.uuid}`])
      assert.equal((await fetch(`http://127.0.0.1:${again.httpPort}/view/${tours.now.uuid}`)).status, 200)
    } finally {
      await fred.endAsync()
      await again.stop()
    }
  })
})
