import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Locator, Page } from 'playwright-core'
import { launchBrowser, outputPath, signInPage, type TestBrowser, type WatchedPage } from '../helpers/browser.js'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { addUsers, seedHistory } from '../helpers/history.js'
import { week } from '../helpers/days.js'
import { tlsPorts } from '../helpers/tls.js'
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

describe('the map on a phone: a one-row toolbar, adding a phone with TLS and a warning about 127.0.0.1; who sees me', () => {
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  let root: string
  let mqttsPort = 0

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
    const since = hub.logs().length
    assert.equal((await runCli(['tls', 'init', '--data', data])).code, 0)
    mqttsPort = (await tlsPorts(hub, since)).mqtts
    b = await launchBrowser()
  })
  after(async () => {
    await b?.close()
    await hub?.stop()
    await tiles?.close()
    rmSync(root, { recursive: true, force: true })
  })

  test('phone: the toolbar is one row and says who is signed in', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', PHONE)
    const bar = (await p.page.locator('.toolbar').boundingBox())!
    assert.ok(bar.height <= 64, `toolbar ${bar.height} px high`)
    const who = p.page.locator('#whoami')
    assert.ok(await who.isVisible(), 'who is signed in is shown')
    assert.match(await who.innerText(), /fred/)
    const tops = await p.page.locator('.toolbar nav button').evaluateAll((els) => [...new Set(els.map((e) => Math.round(e.getBoundingClientRect().top)))])
    assert.equal(tops.length, 1, `buttons on ${tops.length} rows`)
    await p.ctx.close()
  })

  test('Add a phone on a phone-sized screen: the QR code in sight, TLS while it runs with a word about /ca.crt, a warning about 127.0.0.1', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', PHONE)
    await p.page.getByRole('button', { name: 'Add a phone' }).click()
    // Each problem a new user met is checked, and all of them are reported together.
    const problems: string[] = []
    const box = (await p.page.locator('#phone-qr').boundingBox())!
    if (box.y + box.height / 2 >= PHONE.height) problems.push(`QR code centre at ${box.y + box.height / 2} px, below the ${PHONE.height} px screen`)
    if (!(await p.page.locator('#phone-tls').isChecked())) problems.push('TLS runs, but the settings say plain MQTT')
    if ((await p.page.locator('#phone-port').inputValue()) !== String(mqttsPort)) problems.push(`port ${await p.page.locator('#phone-port').inputValue()}, not the TLS port ${mqttsPort}`)
    const ca = p.page.locator('#phone-ca')
    if (!(await ca.count()) || !(await ca.isVisible()) || (await p.page.locator('#phone-ca-link').getAttribute('href')) !== '/ca.crt') problems.push('no word about installing /ca.crt')
    const warning = p.page.locator('#phone-warning')
    if (!(await warning.count()) || !(await warning.isVisible()) || !/127\.0\.0\.1 is this computer's own address/.test(await warning.innerText())) problems.push('no warning that 127.0.0.1 is unreachable for a phone')
    assert.deepEqual(problems, [])
    await p.page.locator('#panel').evaluate((e) => { e.scrollTop = 0 })
    await p.page.screenshot({ path: outputPath('add-phone-375.png') })
    await p.page.locator('#phone-host').fill('hub.example.net')
    assert.equal(await warning.isVisible(), false, 'a real address: no warning')
    await p.ctx.close()
  })

  test('Who sees me names the people who see fred through a group, and the admins', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', DESKTOP)
    await p.page.getByRole('button', { name: 'Sharing' }).click()
    const out = p.page.locator('#shares-out')
    await out.locator('li[data-seen-by="group"]').waitFor()
    assert.match(await out.locator('li[data-seen-by="group"]').innerText(), /jane · through the group family/)
    assert.match(await out.locator('li[data-seen-by="admin"]').innerText(), /admin · an admin of this hub/)
    assert.doesNotMatch(await out.innerText(), /Nobody/, 'never "nobody" while someone sees fred')
    await p.ctx.close()
  })

})
