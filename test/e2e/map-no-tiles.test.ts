import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { launchBrowser, signInPage, type TestBrowser } from '../helpers/browser.js'
import { startHub, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'

describe('without map tiles (the default OpenStreetMap tiles are unreachable here) the map still works', () => {
  let hub: RunningHub
  let b: TestBrowser
  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'fred')
    const p = await phone(hub.mqttPort, 'fred', 'fred-pw')
    const t = Math.floor(Date.now() / 1000) - 600
    for (let i = 0; i < 5; i++) await p.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr', lat: 51.5 + i / 100, lon: -0.12, tst: t + i * 60 })), { qos: 1, retain: true })
    await p.endAsync()
    b = await launchBrowser()
  })
  after(async () => { await b?.close(); await hub?.stop() })

  test('markers, the tiles notice and a history track appear; the only console errors are the refused tile loads', async () => {
    const { page, errors } = await signInPage(b, hub, 'fred', 'fred-pw')
    await page.waitForSelector('.pin[data-user="fred"]')
    assert.ok(await page.locator('.pin[data-user="fred"]').isVisible())
    await page.locator('#tiles-note:not([hidden])').waitFor()
    assert.match(await page.locator('#tiles-note').textContent() ?? '', /tiles could not be loaded; positions and tracks are still shown/)
    await page.getByRole('button', { name: 'History' }).click()
    await page.getByLabel('Range').selectOption('week')
    await page.getByRole('button', { name: 'Show track' }).click()
    await page.locator('#history-summary[data-points="5"]').waitFor()
    assert.ok(b.blocked.length > 0 && b.blocked.every((u) => u.startsWith('https://tile.openstreetmap.org/')), 'only tiles were refused')
    const others = errors.filter((e) => !/@ https:\/\/tile\.openstreetmap\.org\//.test(e))
    assert.deepEqual(others, [])
  })
})
