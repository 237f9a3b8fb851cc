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

describe('the map on a desktop and a phone: panels leave the markers and the end of a track in sight', () => {
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

  test('desktop: opening People or Tours keeps every marker in the map, which fits again', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', DESKTOP)
    await allSeen(p.page, '.pin')
    for (const tab of ['People', 'Tours']) {
      await p.page.getByRole('button', { name: tab }).click()
      await allSeen(p.page, '.pin')
    }
    await p.ctx.close()
  })

  test('phone: the sheet of People does not cover the markers; the end of a track stays above it', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', PHONE)
    await allSeen(p.page, '.pin')
    await p.page.getByRole('button', { name: 'People' }).click()
    await allSeen(p.page, '.pin')
    await p.page.getByRole('button', { name: 'History' }).click()
    await p.page.locator('#history-device').selectOption('jane/phone')
    await p.page.getByLabel('Range').selectOption('custom')
    await p.page.locator('#history-from').fill('2026-11-02T00:00')
    await p.page.locator('#history-to').fill('2026-11-02T23:59')
    await p.page.getByRole('button', { name: 'Show track' }).click()
    await p.page.locator('#history-summary[data-points]:not([data-points=""])').waitFor()
    await allSeen(p.page, '.track-end .end')
    // a taller sheet (People with its list) must not cover the track's end either
    await p.page.getByRole('button', { name: 'People' }).click()
    await allSeen(p.page, '.track-end .end')
    await p.page.screenshot({ path: outputPath('phone-sheet.png') })
    await p.ctx.close()
  })

})
