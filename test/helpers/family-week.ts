import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Locator, Page } from 'playwright-core'
import { launchBrowser, type TestBrowser, type WatchedPage } from './browser.js'
import { startHub, tempDir, waitFor, type RunningHub } from './hub.js'
import { seedHistory } from './history.js'
import { createUsers } from './users.js'
import { week } from './days.js'
import { startTileServer, type TileServer } from './tiles.js'

/** Monday 2 November 2026, 00:00 in Utrecht: the first day of jane's generated week. */
export const MONDAY = Date.UTC(2026, 10, 2) / 1000 - 3600
export const PHONE = { width: 375, height: 667 }
export const DESKTOP = { width: 1280, height: 800 }
export type Signed = WatchedPage & { ctx: BrowserContext }

/** Where `what` is drawn, and whether it can be seen: inside the map's free part, nothing on top of its centre. */
export async function seen(page: Page, what: Locator): Promise<string | undefined> {
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

/** Every element matching `sel` can be seen (see `seen`), within 15 s. */
export async function allSeen(page: Page, sel: string): Promise<void> {
  let problem: string | undefined
  await waitFor(`every ${sel} visible`, async () => {
    const items = await page.locator(sel).all()
    if (items.length === 0) { problem = 'none drawn'; return false }
    for (const x of items) { problem = await seen(page, x); if (problem) return false }
    return true
  }, 15_000).catch(() => {})
  assert.equal(problem, undefined, `${sel}: ${problem}`)
}

export interface FamilyWeek { root: string; data: string; hub: RunningHub; tiles: TileServer; b: TestBrowser; stop(): Promise<void> }

/**
 * jane and fred in one family group: jane with a generated week in Utrecht, fred's two devices far apart
 * in the west and east (so a panel that takes room cuts one off unless the map fits again), a hub with
 * local tiles and a browser. `beforeBrowser` runs once the hub is up (e.g. `tls init`).
 */
export async function familyWeek(beforeBrowser?: (w: Omit<FamilyWeek, 'b' | 'stop'>) => Promise<void>): Promise<FamilyWeek> {
  const root = tempDir()
  const data = join(root, 'data')
  mkdirSync(join(root, 'acl'), { recursive: true })
  writeFileSync(join(root, 'acl', 'sharing.yml'), 'groups:\n  family: [jane, fred]\n')
  await createUsers(data, { admin: { admin: true }, jane: {}, fred: {} })
  const fixes = week(MONDAY).flatMap((d) => d.fixes)
  await seedHistory(data, [fixes.map((f) => ({ user: 'jane', device: 'phone', topic: 'owntracks/jane/phone', message: { _type: 'location', tid: 'ja', ...f } }))])
  const now = Math.floor(Date.now() / 1000)
  await seedHistory(data, [[
    { user: 'fred', device: 'phone', topic: 'owntracks/fred/phone', message: { _type: 'location', tid: 'fr', lat: 48.85, lon: 1.2, tst: now - 60 } },
    { user: 'fred', device: 'tablet', topic: 'owntracks/fred/tablet', message: { _type: 'location', tid: 'ft', lat: 52.52, lon: 13.40, tst: now - 60 } },
  ]])
  const tiles = await startTileServer()
  const hub = await startHub({ dataDir: data, aclDir: join(root, 'acl'), args: ['--tile-url', tiles.url] })
  await beforeBrowser?.({ root, data, hub, tiles })
  const b = await launchBrowser()
  return {
    root, data, hub, tiles, b,
    async stop() {
      await b.close()
      await hub.stop()
      await tiles.close()
      rmSync(root, { recursive: true, force: true })
    },
  }
}
