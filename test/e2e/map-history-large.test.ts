import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { LevelHistory } from '../../src/store/history-level.js'
import { launchBrowser, signInPage, type TestBrowser } from '../helpers/browser.js'
import { startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'
import { createUsers } from '../helpers/users.js'

const N = 50_000

describe('a day of 50,000 points in the history view', () => {
  let root: string
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  const d = new Date()
  const dayStart = Math.floor(new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1).getTime() / 1000)

  before(async () => {
    root = tempDir()
    const dataDir = join(root, 'data')
    await createUsers(dataDir, ['fred'])
    // Written straight into the store (a real LevelDB): publishing 50,000 messages would only test MQTT again.
    const history = await LevelHistory.open(join(dataDir, 'history'))
    const records = []
    for (let i = 0; i < N; i++) {
      const a = i / N * 2 * Math.PI
      const message = { _type: 'location' as const, tid: 'fr', lat: 52.5 + 0.05 * Math.sin(a), lon: 13.4 + 0.08 * Math.sin(2 * a), tst: dayStart + Math.floor(i * 86_000 / N), vel: i % 60 }
      records.push({ user: 'fred', device: 'phone', message, topic: 'owntracks/fred/phone' })
    }
    for (let i = 0; i < N; i += 5000) await history.write(records.slice(i, i + 5000))
    await history.close()
    tiles = await startTileServer()
    hub = await startHub({ dataDir, aclDir: join(root, 'acl'), args: ['--tile-url', tiles.url] })
    b = await launchBrowser()
  })

  after(async () => {
    await b?.close()
    await hub?.stop()
    await tiles?.close()
    rmSync(root, { recursive: true, force: true })
  })

  test('loads, draws with its start and end, plays back and zooms, without console errors', async (t) => {
    const { page, errors } = await signInPage(b, hub, 'fred', 'fred-pw')
    await page.waitForSelector('.pin[data-user="fred"]')
    await page.getByRole('button', { name: 'History' }).click()
    await page.getByLabel('Range').selectOption('yesterday')
    const started = Date.now()
    await page.getByRole('button', { name: 'Show track' }).click()
    await page.locator(`#history-summary[data-points="${N}"]`).waitFor({ timeout: 60_000 })
    t.diagnostic(`${N} points fetched and drawn in ${Date.now() - started} ms`)
    assert.match(await page.locator('#history-summary').textContent() ?? '', /^50000 points · [\d.]+ km · 23 h 53 min/)
    assert.equal(await page.getByLabel('Time', { exact: true }).getAttribute('max'), String(N - 1))
    assert.equal(await page.locator('.track-end .start').count() + await page.locator('.track-end .end').count(), 2)
    await page.getByRole('button', { name: 'Play' }).click()
    await page.waitForFunction(() => Number((document.getElementById('history-slider') as HTMLInputElement).value) > 1000)
    await page.getByRole('button', { name: 'Pause' }).click()
    for (const z of ['Zoom in', 'Zoom in', 'Zoom out']) await page.getByRole('button', { name: z }).click()
    await page.waitForSelector('.leaflet-container:not(.leaflet-zoom-anim)')
    assert.deepEqual(errors, [])
  })
})
