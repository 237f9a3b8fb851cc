import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Locator, Page } from 'playwright-core'
import { launchBrowser, outputPath, signInPage, type TestBrowser, type WatchedPage } from '../helpers/browser.js'
import { startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { addUsers, seedHistory } from '../helpers/history.js'
import { week } from '../helpers/days.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'

// Monday 2 November 2026, 00:00 in Utrecht
const MONDAY = Date.UTC(2026, 10, 2) / 1000 - 3600
const PHONE = { width: 375, height: 667 }
const DESKTOP = { width: 1280, height: 800 }
type Signed = WatchedPage & { ctx: BrowserContext }

/** Where `what` is drawn, and whether it can be seen: inside the map's free part, nothing on top of its centre. */
async function seen(page: Page, what: Locator): Promise<string | undefined> {
  const box = await what.boundingBox()
  const map = await page.locator('#map').boundingBox()
  if (!box || !map) return 'not drawn'
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2
  if (cx < map.x || cy < map.y || cx > map.x + map.width || cy > map.y + map.height) return `outside the map: centre ${Math.round(cx)},${Math.round(cy)}; map ${JSON.stringify(map)}`
  const covered = await what.evaluate((el, [x, y]) => {
    const top = document.elementFromPoint(x, y)
    return top && !el.contains(top) && top.closest('#panel, .toolbar') ? (top.closest('#panel, .toolbar') as HTMLElement).id || 'toolbar' : null
  }, [cx, cy])
  return covered ? `covered by ${covered}` : undefined
}

async function allSeen(page: Page, sel: string): Promise<void> {
  let problem: string | undefined
  await waitFor(`every ${sel} visible`, async () => {
    const items = await page.locator(sel).all()
    if (items.length === 0) { problem = 'none drawn'; return false }
    for (const x of items) { problem = await seen(page, x); if (problem) return false }
    return true
  }, 15_000).catch(() => {})
  assert.equal(problem, undefined, `${sel}: ${problem}`)
}

describe('the map\'s timeline: one day of visits and trips, previous/next day, light and dark', () => {
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  let root: string

  before(async () => {
    root = tempDir()
    const data = join(root, 'data')
    mkdirSync(join(root, 'acl'), { recursive: true })
    writeFileSync(join(root, 'acl', 'sharing.yml'), 'groups:\n  family: [jane, fred]\n')
    await addUsers(data, { admin: { admin: true }, jane: {}, fred: {} })
    const fixes = week(MONDAY).flatMap((d) => d.fixes)
    await seedHistory(data, [fixes.map((f) => ({ user: 'jane', device: 'phone', topic: 'owntracks/jane/phone', message: { _type: 'location', tid: 'ja', ...f } }))])
    // fred far away in the west and east, so a panel that takes room cuts one off unless the map fits again
    const now = Math.floor(Date.now() / 1000)
    await seedHistory(data, [[
      { user: 'fred', device: 'phone', topic: 'owntracks/fred/phone', message: { _type: 'location', tid: 'fr', lat: 48.85, lon: 1.2, tst: now - 60 } },
      { user: 'fred', device: 'tablet', topic: 'owntracks/fred/tablet', message: { _type: 'location', tid: 'ft', lat: 52.52, lon: 13.40, tst: now - 60 } },
    ]])
    tiles = await startTileServer()
    hub = await startHub({ dataDir: data, aclDir: join(root, 'acl'), args: ['--tile-url', tiles.url] })
    b = await launchBrowser()
  })
  after(async () => {
    await b?.close()
    await hub?.stop()
    await tiles?.close()
    rmSync(root, { recursive: true, force: true })
  })

  const openTimeline = async (p: Signed, date: string) => {
    await p.page.getByRole('button', { name: 'Timeline' }).click()
    await p.page.locator('#timeline-device').selectOption('jane/phone')
    await p.page.locator('#timeline-date').fill(date)
    await p.page.locator(`#timeline-summary[data-date="${date}"]`).waitFor()
  }

  for (const [name, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    test(`the timeline of jane's Monday at ${size.width} px: five visits with place names, four trips in colour, previous/next day`, async () => {
      const p = await signInPage(b, hub, 'jane', 'jane-pw', size)
      await openTimeline(p, '2026-11-02')
      const list = p.page.locator('#timeline-list')
      assert.equal(await list.locator('li.visit').count(), 5)
      assert.deepEqual(await list.locator('li.trip').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.mode)), ['walk', 'bike', 'car', 'walk'])
      assert.match(await list.locator('li.visit').first().innerText(), /Utrecht/)
      assert.match(await p.page.locator('#timeline-title').innerText(), /Monday/)
      await allSeen(p.page, '.leaflet-overlay-pane path.leaflet-interactive')
      await p.page.screenshot({ path: outputPath(`timeline-${size.width}.png`) })
      // choosing a trip in the list shows it on the map
      await list.locator('li.trip').nth(1).getByRole('button').click()
      assert.equal(await list.locator('li.trip').nth(1).getAttribute('class'), 'trip selected')
      await p.page.getByRole('button', { name: 'Next day' }).click()
      await p.page.locator('#timeline-summary[data-date="2026-11-03"]').waitFor()
      assert.match(await p.page.locator('#timeline-title').innerText(), /Tuesday/)
      await p.page.locator('#timeline-list').click({ position: { x: 1, y: 1 } }).catch(() => {})
      await p.page.locator('body').press('ArrowRight')
      await p.page.locator('#timeline-summary[data-date="2026-11-04"]').waitFor()
      await p.page.keyboard.press('ArrowLeft')
      await p.page.keyboard.press('ArrowLeft')
      await p.page.locator('#timeline-summary[data-date="2026-11-02"]').waitFor()
      await p.page.getByRole('button', { name: 'Previous day' }).click()
      await p.page.locator('#timeline-summary[data-date="2026-11-01"]').waitFor()
      assert.match(await p.page.locator('#timeline-summary').innerText(), /Nothing recorded/)
      assert.deepEqual(p.errors, [])
      await p.ctx.close()
    })
  }

  test('dark mode follows the system setting', async () => {
    const p = await signInPage(b, hub, 'jane', 'jane-pw', DESKTOP)
    await p.page.emulateMedia({ colorScheme: 'dark' })
    await openTimeline(p, '2026-11-04')
    // the year's heat map: the generated week is there, and a day of it opens that day
    const monday = p.page.locator('#stats-heat button[data-date="2026-11-02"]')
    await monday.waitFor()
    assert.notEqual(await monday.getAttribute('class'), 'heat-0')
    assert.equal(await p.page.locator('#stats-heat button[data-date="2026-10-20"]').getAttribute('class'), 'heat-0')
    assert.match(await p.page.locator('#stats-summary').innerText(), /on 3 days · 1 country · 2 towns/)
    await monday.click()
    await p.page.locator('#timeline-summary[data-date="2026-11-02"]').waitFor()
    const bg = await p.page.locator('#panel').evaluate((e) => getComputedStyle(e).backgroundColor)
    assert.equal(bg, 'rgb(17, 24, 39)')
    await p.page.screenshot({ path: outputPath('timeline-dark-1280.png') })
    await p.page.emulateMedia({ colorScheme: 'light' })
    assert.equal(await p.page.locator('#panel').evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(255, 255, 255)')
    await p.ctx.close()
  })
})
