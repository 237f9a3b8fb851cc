import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { launchBrowser, outputPath, signInPage, type TestBrowser } from '../helpers/browser.js'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { phone } from '../helpers/phone.js'
import { writeRules } from '../helpers/sharing.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'
import { addUsers } from '../helpers/users.js'

describe('the map with places: grandma sees "at school since …" instead of a marker; lisa draws a place and sees her events', () => {
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  let lisaPhone: MqttClient
  const now = Math.floor(Date.now() / 1000)

  before(async () => {
    tiles = await startTileServer()
    hub = await startHub({ args: ['--tile-url', tiles.url] })
    await addUsers(hub, 'lisa', 'grandma')
    await writeRules(hub, 'shares:\n  - from: lisa\n    to: grandma\n    precision: place\n')
    const since = hub.logs().length
    writeFileSync(join(hub.aclDir, 'places.yml'), 'places:\n  - name: school\n    owner: lisa\n    lat: 52.52\n    lon: 13.405\n    radius: 150m\n')
    await hub.waitForLog(/Reloaded places/, 5000, since)
    lisaPhone = await phone(hub.mqttPort, 'lisa', 'lisa-pw')
    for (const [dt, lat] of [[-600, 52.53], [-300, 52.5201]] as const) {
      await lisaPhone.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', lat, lon: 13.405, acc: 10, tst: now + dt }), { qos: 1 })
    }
    await hub.waitForLog(/Place: lisa\/phone entered school/)
    b = await launchBrowser()
  })

  after(async () => {
    await lisaPhone?.endAsync()
    await b?.close()
    await hub?.stop()
    await tiles?.close()
  })

  test('grandma: a chip "lisa (phone): at school since HH:MM", the school drawn, and no marker for lisa', async () => {
    const { page, errors } = await signInPage(b, hub, 'grandma', 'grandma-pw')
    const chip = page.locator('#presence-chips li[data-user="lisa"]')
    await chip.waitFor()
    const expected = await page.evaluate((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), now - 300)
    assert.equal(await chip.textContent(), `lisa (phone): at school since ${expected}`)
    await page.locator('.place-label', { hasText: 'school' }).waitFor()
    assert.equal(await page.locator('.pin[data-user="lisa"]').count(), 0)
    await page.screenshot({ path: outputPath('map-places-grandma.png') })
    assert.deepEqual(errors, [])
  })

  test('lisa draws "home" as a circle on the map; it lands in acl/places.yml and is drawn', async () => {
    const { page, errors } = await signInPage(b, hub, 'lisa', 'lisa-pw')
    await page.getByRole('button', { name: 'Places' }).click()
    await page.locator('#places-list li[data-place="lisa/school"]').waitFor()
    await page.getByRole('button', { name: 'New circle' }).click()
    const box = (await page.locator('#map').boundingBox())!
    await page.mouse.click(box.x + box.width * 0.7, box.y + box.height / 2)
    await page.getByLabel('Radius (m)').fill('80')
    await page.getByLabel('Place name').fill('home')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.locator('#places-list li[data-place="lisa/home"]').waitFor()
    await page.locator('.place-label', { hasText: 'home' }).waitFor()
    const file = readFileSync(join(hub.aclDir, 'places.yml'), 'utf8')
    assert.match(file, /name: home\n\s+owner: lisa\n\s+lat: -?\d+\.\d+\n\s+lon: -?\d+\.\d+\n\s+radius: 80m/)
    assert.match(file, /name: school/)
    assert.deepEqual(errors, [])
  })

  test('lisa draws "park" as a polygon by three clicks, and widens school by dragging its edge', async () => {
    const { page, errors } = await signInPage(b, hub, 'lisa', 'lisa-pw')
    await page.getByRole('button', { name: 'Places' }).click()
    await page.locator('#places-list li[data-place="lisa/school"]').waitFor()
    await page.getByRole('button', { name: 'New polygon' }).click()
    const box = (await page.locator('#map').boundingBox())!
    for (const [fx, fy] of [[0.2, 0.3], [0.3, 0.3], [0.25, 0.4]]) await page.mouse.click(box.x + box.width * fx, box.y + box.height * fy)
    await page.getByLabel('Place name').fill('park')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.locator('#places-list li[data-place="lisa/park"]').waitFor()
    assert.match(readFileSync(join(hub.aclDir, 'places.yml'), 'utf8'), /name: park\n\s+owner: lisa\n\s+polygon: \[\[-?\d+\.\d+, -?\d+\.\d+\], \[.*\], \[.*\]\]/)

    await page.locator('#places-list li[data-place="lisa/school"]').getByRole('button', { name: 'Edit' }).click()
    const edge = page.locator('.place-handle')
    await edge.waitFor()
    const e = (await edge.boundingBox())!
    await page.mouse.move(e.x + e.width / 2, e.y + e.height / 2)
    await page.mouse.down()
    await page.mouse.move(e.x + e.width / 2 + 60, e.y + e.height / 2, { steps: 6 })
    await page.mouse.up()
    const radius = Number(await page.getByLabel('Radius (m)').inputValue())
    assert.ok(radius > 150, `dragging the edge outwards widens the circle (radius ${radius})`)
    await page.getByRole('button', { name: 'Save' }).click()
    await waitFor('the wider school in the file', () => new RegExp(`name: school\\n\\s+owner: lisa\\n\\s+lat: 52.52\\n\\s+lon: 13.405\\n\\s+radius: ${radius}m`).test(readFileSync(join(hub.aclDir, 'places.yml'), 'utf8')))
    assert.deepEqual(errors, [])
  })

  test('grandma adds "tell me when lisa arrives at school" on the map, and removes it there', async () => {
    const { page, errors } = await signInPage(b, hub, 'grandma', 'grandma-pw')
    await page.getByRole('button', { name: 'Places' }).click()
    await page.locator('#alert-about option[value="lisa"]').waitFor({ state: 'attached' })
    const form = page.getByRole('form', { name: 'Tell me when' })
    await form.getByLabel('Person', { exact: true }).selectOption('lisa')
    await form.getByLabel('Event', { exact: true }).selectOption('enter')
    await form.getByLabel('Place', { exact: true }).selectOption('school')
    await form.getByRole('button', { name: 'Add alert' }).click()
    const item = page.locator('#alerts-list li', { hasText: 'lisa arrives at school → grandma' })
    await item.waitFor()
    assert.match(readFileSync(join(hub.aclDir, 'places.yml'), 'utf8'), /about: lisa\n\s+to: grandma\n\s+places: \[school\]\n\s+on: \[enter\]/)
    await item.getByRole('button', { name: 'Remove' }).click()
    await waitFor('the alert gone', async () => (await page.locator('#alerts-list li').count()) === 0)
    assert.doesNotMatch(readFileSync(join(hub.aclDir, 'places.yml'), 'utf8'), /to: grandma/)
    assert.deepEqual(errors, [])
  })

  test('a slow answer asked before an alert was added does not take the alert off the list', async () => {
    const { page, errors } = await signInPage(b, hub, 'grandma', 'grandma-pw')
    await page.locator('#alert-about option[value="lisa"]').waitFor({ state: 'attached' })
    // the answer asked when the panel opens is held back until the alert added after it is listed
    let listed = false
    let held = true
    await page.route('**/api/places', async (route) => {
      if (!held || route.request().method() !== 'GET') return route.continue()
      held = false
      const response = await route.fetch() // asked now, before the alert exists; answered later
      await waitFor('the alert listed first', () => listed, 15_000)
      await route.fulfill({ response })
    })
    const slow = page.waitForResponse((r) => r.url().endsWith('/api/places') && r.request().method() === 'GET')
    await page.getByRole('button', { name: 'Places' }).click()
    const form = page.getByRole('form', { name: 'Tell me when' })
    await form.getByLabel('Person', { exact: true }).selectOption('lisa')
    await form.getByLabel('Event', { exact: true }).selectOption('leave')
    await form.getByLabel('Place', { exact: true }).selectOption('school')
    await form.getByRole('button', { name: 'Add alert' }).click()
    const item = page.locator('#alerts-list li', { hasText: 'lisa leaves school → grandma' })
    await item.waitFor()
    listed = true
    await slow
    // the page has the older answer now: a moment for it to draw it (it must not)
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300)))
    assert.equal(await item.count(), 1, 'the alert is still listed')
    await item.getByRole('button', { name: 'Remove' }).click()
    await waitFor('the alert gone', async () => (await page.locator('#alerts-list li').count()) === 0)
    assert.deepEqual(errors, [])
  })

  test('lisa\'s history shows the hub\'s arrival at school in the timeline', async () => {
    const { page, errors } = await signInPage(b, hub, 'lisa', 'lisa-pw')
    await page.getByRole('button', { name: 'History' }).click()
    await page.getByLabel('Person and device').selectOption('lisa/phone')
    // The fixes are minutes old: "Today" would miss them in the first minutes after midnight.
    await page.getByLabel('Range').selectOption('week')
    await page.getByRole('button', { name: 'Show track' }).click()
    const ev = page.locator('#history-events li[data-event="enter"][data-by="hub"]')
    await ev.waitFor()
    assert.match((await ev.textContent())!, /arrived at school · place/)
    assert.deepEqual(errors, [])
  })

  test('grandma\'s History of lisa is her place visits: "at school since HH:MM" and the hub\'s arrival, no track', async () => {
    const { page, errors } = await signInPage(b, hub, 'grandma', 'grandma-pw')
    await page.locator('#presence-chips li[data-user="lisa"]').waitFor()
    await page.getByRole('button', { name: 'History' }).click()
    await page.getByLabel('Person and device').selectOption('lisa/phone')
    // The fixes are minutes old: "Today" would miss them in the first minutes after midnight.
    await page.getByLabel('Range').selectOption('week')
    await page.getByRole('button', { name: 'Show track' }).click()
    const summary = page.locator('#history-summary[data-visits="1"]')
    await summary.waitFor()
    const since = await page.evaluate((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), now - 300)
    assert.match((await summary.textContent())!, /Only which place is shared: 1 change, the last at school since/)
    const ev = page.locator('#history-events li[data-event="enter"][data-by="hub"]')
    await ev.waitFor()
    assert.equal(await ev.textContent(), `${since} arrived at school · place`)
    assert.equal(await page.locator('#history-summary').getAttribute('data-points'), '0')
    await page.screenshot({ path: outputPath('map-places-grandma-history.png') })
    assert.deepEqual(errors, [])
  })

  test('the map is an installable app: manifest, and a service worker that registers', async () => {
    const manifest = await (await fetch(`http://127.0.0.1:${hub.httpPort}/manifest.webmanifest`)).json() as { start_url: string; display: string }
    assert.deepEqual([manifest.start_url, manifest.display], ['/', 'standalone'])
    const { page } = await signInPage(b, hub, 'lisa', 'lisa-pw')
    const state = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' })
      await navigator.serviceWorker.ready
      return { scope: reg.scope, push: 'pushManager' in reg }
    })
    assert.deepEqual(state, { scope: `http://127.0.0.1:${hub.httpPort}/`, push: true })
    await waitFor('push key', async () => ((await (await hub.http('/api/push', { user: 'lisa', password: 'lisa-pw' })).json()) as { publicKey?: string }).publicKey)
  })
})
