import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import type { BrowserContext, Page } from 'playwright-core'
import { launchBrowser, outputPath, signInPage, watchedPage, type TestBrowser, type WatchedPage } from '../helpers/browser.js'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'
import { addUsers } from '../helpers/users.js'
import { solidPng } from '../helpers/images.js'

const now = () => Math.floor(Date.now() / 1000)
/** Yesterday 12:00 local time, the browser's time zone being the machine's. */
const yesterdayNoon = () => { const d = new Date(); return Math.floor(new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1, 12).getTime() / 1000) }

/**
 * Every marker is inside the viewport, and at its centre nothing covers it. Checked until the map has
 * settled (fitting the view animates the zoom), then asserted.
 */
async function assertMarkersVisible(page: Page, users: string[]): Promise<void> {
  const vp = page.viewportSize()!
  const problem = async (): Promise<string | undefined> => {
    for (const u of users) {
      const pins = await page.locator(`.pin[data-user="${u}"]`).all()
      if (pins.length === 0) return `no marker for ${u}`
      for (const pin of pins) {
        const box = await pin.boundingBox()
        if (!box || box.x < 0 || box.y < 0 || box.x + box.width > vp.width || box.y + box.height > vp.height) return `${u}'s marker outside the ${vp.width}px viewport: ${JSON.stringify(box)}`
        const onTop = await pin.evaluate((el, [x, y]) => el.contains(document.elementFromPoint(x, y)), [box.x + box.width / 2, box.y + box.height / 2])
        if (!onTop) return `${u}'s marker is covered`
      }
    }
    return undefined
  }
  let last: string | undefined
  await waitFor('every marker visible', async () => (last = await problem()) === undefined, 5000).catch(() => {})
  assert.equal(last, undefined)
}

describe('the family map in a browser: fred may see jane (an acl rule), not bob', () => {
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  let fred: WatchedPage & { ctx: BrowserContext }
  const phones: MqttClient[] = []
  const pub = async (user: string, device: string, over: Record<string, unknown>, sub = '') => {
    let p = phones.find((c) => c.options.clientId === `${user}${device}`)
    if (!p) { p = await phone(hub.mqttPort, user, `${user}-pw`, device); phones.push(p) }
    await p.publishAsync(`owntracks/${user}/${device}${sub}`, JSON.stringify(sub ? over : location(over)), { qos: 1, retain: !sub })
  }

  before(async () => {
    tiles = await startTileServer()
    hub = await startHub({ args: ['--tile-url', tiles.url] })
    await addUsers(hub, 'fred', 'jane', 'bob')
    writeFileSync(join(hub.aclDir, 'family.acl'), 'user fred\ntopic read owntracks/jane/#\n')
    await hub.waitForLog(/Reloaded access rules/)
    const t0 = yesterdayNoon()
    for (let i = 0; i < 25; i++) await pub('jane', 'phone', { tid: 'ja', lat: 48.85 + i * 0.001, lon: 2.35 + i * 0.001, tst: t0 + i * 60, vel: 5 })
    await pub('jane', 'phone', { tid: 'ja', lat: 48.8566, lon: 2.3522, batt: 64, bs: 1 })
    await pub('fred', 'phone', { _type: 'card', name: 'Fred F.', tid: 'fr' }, '/info')
    const face = solidPng(40, 40, 0xd97706ff).toString('base64')
    await pub('jane', 'phone', { _type: 'card', face, tid: 'ja' }, '/info')
    await pub('fred', 'phone', { tid: 'fr', lat: 52.52, lon: 13.405, batt: 81, bs: 2, vel: 12, alt: 35, acc: 20, inregions: ['Home'], conn: 'w', SSID: 'home-net' })
    await pub('fred', 'tablet', { tid: 'ft', lat: 53.55, lon: 9.99, tst: now() - 3 * 3600, batt: 15 })
    await pub('bob', 'phone', { tid: 'bo', lat: 50.85, lon: 4.35 })
    b = await launchBrowser()
  })

  after(async () => {
    await Promise.all(phones.map((p) => p.endAsync()))
    await b?.close()
    await hub?.stop()
    await tiles?.close()
  })

  test('fred signs in and sees markers for his devices and jane\'s, none for bob\'s', async () => {
    fred = await signInPage(b, hub, 'fred', 'fred-pw')
    const { page } = fred
    await page.waitForSelector('.pin[data-user="jane"]')
    assert.equal(await page.locator('.pin[data-user="fred"]').count(), 2)
    assert.equal(await page.locator('.pin[data-user="jane"]').count(), 1)
    assert.equal(await page.locator('.pin[data-user="bob"]').count(), 0, 'bob shares nothing with fred')
    assert.equal(await page.locator('.pin[data-user="jane"] img[src^="data:image/png;base64,"]').count(), 1, "jane's card face")
    assert.equal(await page.locator('.pin[data-device="tablet"]').textContent(), 'ft', 'no face: the tracker id')
    await assertMarkersVisible(page, ['fred', 'jane'])
    assert.ok(tiles.requests > 0, 'tiles come from the configured tile server')
  })

  test('a publish moves jane\'s marker without a reload', async () => {
    const { page } = fred
    await page.evaluate(() => { (window as unknown as { sameDocument: boolean }).sameDocument = true })
    const pin = page.locator('.pin[data-user="jane"]')
    const before = (await pin.boundingBox())!
    await pub('jane', 'phone', { tid: 'ja', lat: 45.764, lon: 4.8357, batt: 63 })
    await page.waitForSelector('.pin[data-user="jane"][data-lat="45.764"]', { timeout: 10_000 })
    const moved = (await pin.boundingBox())!
    assert.ok(Math.abs(moved.y - before.y) > 10, `the marker moved on screen: ${before.y} → ${moved.y}`)
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload')
  })

  test('a marker is reached by keyboard and its popup shows name, device, time, battery, speed, altitude, regions, connection', async () => {
    const { page } = fred
    await page.locator('.leaflet-marker-icon:has(.pin[data-user="fred"][data-device="phone"])').focus()
    await page.keyboard.press('Enter')
    const popup = page.locator('.leaflet-popup-content')
    await popup.waitFor()
    const text = (await popup.innerText()).replace(/\s+/g, ' ')
    for (const want of ['Fred F.', 'Device: phone', 'just now', '81 % (charging)', '12 km/h', '35 m', '20 m', 'Home', 'Wi-Fi (home-net)']) {
      assert.ok(text.includes(want), `popup has "${want}": ${text}`)
    }
    assert.match(text, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/, 'absolute time')
    await popup.getByRole('button', { name: 'Follow' }).click()
    assert.equal(await page.locator('#following-name').textContent(), 'Following Fred F. (phone)')
    await page.getByRole('button', { name: 'Stop following' }).click()
    assert.equal(await page.locator('#following').isHidden(), true)
  })

  test('a device not heard from for hours is marked stale', async () => {
    const { page } = fred
    assert.equal(await page.locator('.pin[data-device="tablet"]').getAttribute('data-stale'), 'true')
    assert.equal(await page.locator('.pin[data-device="phone"][data-user="fred"]').getAttribute('data-stale'), 'false')
  })

  test('the people list shows last seen and battery, filters by search, and focuses a device on click', async () => {
    const { page } = fred
    await page.getByRole('button', { name: 'People' }).click()
    const list = page.locator('#people-list')
    const text = (await list.innerText()).replace(/\s+/g, ' ')
    assert.match(text, /Fred F\. \(fred\) phone just now · 81 % \(charging\) tablet 3 hours ago · 15 % · stale/)
    assert.match(text, /jane phone just now · 63 %/)
    await page.getByLabel('Search').fill('jan')
    assert.deepEqual(await list.locator('button').allInnerTexts().then((t) => t.map((x) => x.split('\n')[0])), ['phone'])
    await list.getByRole('button', { name: /phone/ }).click()
    await page.locator('.leaflet-popup-content h3', { hasText: /^jane$/ }).waitFor()
    await page.getByLabel('Search').fill('')
    await page.getByRole('button', { name: 'People' }).click()
  })

  test("history: yesterday's range draws jane's track with exactly its 25 points, start and end, a slider, distance and downloads", async () => {
    const { page } = fred
    await page.getByRole('button', { name: 'History' }).click()
    await page.getByLabel('Person and device').selectOption('jane/phone')
    await page.getByLabel('Range').selectOption('yesterday')
    await page.getByRole('button', { name: 'Show track' }).click()
    const summary = page.locator('#history-summary[data-points="25"]')
    await summary.waitFor()
    assert.match(await summary.textContent() ?? '', /^25 points · 3\.\d\d km · 24 min \(/)
    assert.equal(await page.locator('.track-end .start').count(), 1)
    assert.equal(await page.locator('.track-end .end').count(), 1)
    assert.equal(await page.locator('.leaflet-overlay-pane canvas').count(), 1, 'drawn on a canvas')
    assert.equal(await page.getByLabel('Time', { exact: true }).getAttribute('max'), '24')
    await page.getByRole('button', { name: 'Play' }).click()
    await page.waitForFunction(() => (document.getElementById('history-slider') as HTMLInputElement).value === '24')
    assert.match(await page.locator('#history-at').textContent() ?? '', /12:24:00 · 5 km\/h$/)
    const gpx = new URL((await page.locator('#history-gpx').getAttribute('href'))!, 'http://x')
    assert.deepEqual([gpx.pathname, gpx.searchParams.get('user'), gpx.searchParams.get('device'), gpx.searchParams.get('format')], ['/api/0/locations', 'jane', 'phone', 'gpx'])
    assert.equal(Number(gpx.searchParams.get('from')), yesterdayNoon() - 12 * 3600)
    assert.equal(new URL((await page.locator('#history-geojson').getAttribute('href'))!, 'http://x').searchParams.get('format'), 'geojson')
    await page.getByRole('button', { name: 'Clear' }).click()
    await page.getByRole('button', { name: 'History' }).click()
  })

  test('add a phone: the QR code and the owntracks:/// link carry the app settings, and the typed password never reaches the hub', async () => {
    const { page } = fred
    const sent: string[] = []
    page.on('request', (r) => sent.push(`${r.url()} ${JSON.stringify(r.headers())} ${r.postData() ?? ''}`))
    await page.getByRole('button', { name: 'Add a phone' }).click()
    await page.getByLabel('Device name').fill('pixel')
    await page.getByLabel('Initials (2)').fill('FP')
    await page.getByLabel('Password (optional, stays in this browser)').fill('sekrit-pw-123')
    const href = (await page.locator('#phone-link').getAttribute('href'))!
    assert.match(href, /^owntracks:\/\/\/config\?inline=[A-Za-z0-9+/=]+$/)
    const config = JSON.parse(Buffer.from(href.split('inline=')[1], 'base64').toString('utf8')) as Record<string, unknown>
    assert.deepEqual(config, {
      _type: 'configuration', mode: 0, host: '127.0.0.1', port: hub.mqttPort, tls: false, mqttProtocolLevel: 4, cleanSession: false, sub: true,
      auth: true, username: 'fred', deviceId: 'pixel', tid: 'FP', password: 'sekrit-pw-123',
    })
    assert.equal(await page.locator('#phone-qr').getAttribute('data-content'), 'config')
    const dark = await page.locator('#phone-qr').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 0; i < d.length; i += 4) if (d[i] < 64) n++
      return n / (d.length / 4)
    })
    assert.ok(dark > 0.2 && dark < 0.8, `the canvas holds a QR code (${Math.round(dark * 100)} % dark)`)
    assert.match(await page.locator('#phone-settings').innerText(), /Port\s+\d+[\s\S]*Password\s+included in the code and link below/)
    await page.getByLabel('Mode').selectOption('http')
    const http = JSON.parse(Buffer.from((await page.locator('#phone-link').getAttribute('href'))!.split('inline=')[1], 'base64').toString()) as Record<string, unknown>
    assert.deepEqual([http.mode, http.url], [3, `http://127.0.0.1:${hub.httpPort}/pub`])
    await page.getByLabel('Mode').selectOption('mqtt')
    await page.getByRole('button', { name: 'Add a phone' }).click()
    assert.ok(!sent.some((s) => s.includes('sekrit-pw-123')), 'no request carried the password')
    assert.doesNotMatch(hub.logs(), /sekrit-pw-123/)
  })

  test('tours from the map: create one for my phone, open its public page without an account, delete it (then 404)', async () => {
    const { page } = fred
    await page.getByRole('button', { name: 'Tours' }).click()
    await page.getByLabel('Device', { exact: true }).selectOption('phone')
    await page.getByLabel('Label').fill('Walk to the lake')
    await page.getByRole('button', { name: 'Create tour' }).click()
    const item = page.locator('#tours-list li[data-uuid]')
    await item.waitFor()
    assert.match(await item.innerText(), /Walk to the lake · phone/)
    const url = await item.locator('input.url').inputValue()
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${hub.httpPort}/view/[0-9a-f-]{36}$`))
    const visitor = await watchedPage(await b.context())
    const res = await visitor.page.goto(url)
    assert.equal(res?.status(), 200)
    await visitor.page.waitForSelector('#status[data-points]:not([data-points=""])')
    assert.equal(await visitor.page.locator('#title').textContent(), 'Walk to the lake')
    await item.getByRole('button', { name: 'Delete' }).click()
    await page.locator('#tours-list li.hint').waitFor()
    assert.equal((await fetch(url)).status, 404)
    assert.equal((await visitor.page.reload())?.status(), 404)
    assert.match(await visitor.page.locator('h1').textContent() ?? '', /Tour not found/)
    await page.getByRole('button', { name: 'Tours' }).click()
  })

  test('screenshots at 375 px and on a desktop show every marker fred may see', async () => {
    for (const [name, size] of [['map-375.png', { width: 375, height: 740 }], ['map-desktop.png', { width: 1366, height: 800 }]] as const) {
      const w = await signInPage(b, hub, 'fred', 'fred-pw', size)
      await w.page.waitForSelector('.pin[data-user="jane"]')
      await w.page.waitForFunction(() => document.querySelectorAll('.leaflet-tile-loaded').length > 0)
      await assertMarkersVisible(w.page, ['fred', 'jane'])
      await w.page.waitForSelector('.leaflet-container:not(.leaflet-zoom-anim)')
      await w.page.screenshot({ path: outputPath(name) })
      const toolbar = (await w.page.locator('.toolbar').boundingBox())!
      assert.ok(toolbar.width <= size.width, 'no sideways scrolling')
      assert.ok(await w.page.getByRole('button', { name: 'Sign out' }).isVisible(), 'every control fits')
      if (size.width < 400) {
        // On a phone the panels open as a sheet over the lower part of the map.
        await w.page.getByRole('button', { name: 'History' }).click()
        await w.page.getByLabel('Person and device').selectOption('jane/phone')
        await w.page.getByLabel('Range').selectOption('yesterday')
        await w.page.getByRole('button', { name: 'Show track' }).click()
        await w.page.locator('#history-summary[data-points="25"]').waitFor()
        const sheet = (await w.page.locator('#panel').boundingBox())!
        assert.ok(sheet.y > size.height / 3 && sheet.y + sheet.height <= size.height + 1, `the sheet sits low: ${JSON.stringify(sheet)}`)
        await w.page.screenshot({ path: outputPath('map-375-history.png') })
      }
      assert.deepEqual(w.errors, [], `no console errors at ${size.width} px`)
      await w.ctx.close()
    }
  })

  test('no console errors on the map or the public tour page', () => {
    assert.deepEqual(fred.errors, [])
    assert.deepEqual(b.blocked, [], 'nothing tried to reach beyond 127.0.0.1')
  })

  test('sign-out returns to the sign-in form, and the old session no longer reads the API', async () => {
    const { page, ctx } = fred
    const cookie = (await ctx.cookies()).find((c) => c.name === 'othub_session')!
    await page.getByRole('button', { name: /Sign out/ }).click()
    await page.waitForSelector('#signin:not([hidden])')
    assert.equal(await page.locator('#app').isHidden(), true)
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}/api/0/last`, { headers: { cookie: `othub_session=${cookie.value}` } })
    assert.equal(res.status, 401)
  })

  test('when the hub cannot be reached the map says so, and asks to sign in again once it is back', async () => {
    const w = await signInPage(b, hub, 'fred', 'fred-pw')
    await w.page.waitForSelector('.pin[data-user="jane"]')
    await hub.kill9()
    await w.page.waitForSelector('#offline:not([hidden])', { timeout: 15_000 })
    assert.match(await w.page.locator('#offline').textContent() ?? '', /cannot be reached/)
    hub = await hub.restart()
    // Sessions live in memory: after a restart the map finds itself signed out and shows the form.
    await w.page.waitForSelector('#signin:not([hidden])', { timeout: 15_000 })
    assert.equal(await w.page.locator('#offline').isHidden(), true)
    await waitFor('the banner gone', () => w.page.locator('#offline').isHidden())
  })
})
