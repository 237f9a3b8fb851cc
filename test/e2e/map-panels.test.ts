import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { outputPath, signInPage, type TestBrowser } from '../helpers/browser.js'
import { waitFor, type RunningHub } from '../helpers/hub.js'
import { familyWeek, PHONE, DESKTOP, allSeen, type FamilyWeek } from '../helpers/family-week.js'

describe('the map on a desktop and a phone: panels leave the markers and the end of a track in sight', () => {
  let w: FamilyWeek
  let hub: RunningHub
  let b: TestBrowser

  before(async () => {
    w = await familyWeek()
    ;({ hub, b } = w)
  })
  after(async () => { await w?.stop() })

  test('desktop: opening People or Tours keeps every marker in the map, which fits again', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', DESKTOP)
    await allSeen(p.page, '.pin')
    for (const tab of ['People', 'Tours']) {
      await p.page.getByRole('button', { name: tab }).click()
      await allSeen(p.page, '.pin')
    }
    await p.ctx.close()
  })

  test('phone: a sheet opened while the map is still zooming fits once the zoom has ended', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', PHONE)
    await allSeen(p.page, '.pin')
    // One task: the zoom's animation has begun (it ends some 250 ms later) when the sheet opens.
    await p.page.evaluate(() => {
      (document.querySelector('.leaflet-control-zoom-in') as HTMLElement).click()
      ;(document.querySelector('button.tab[data-panel="people"]') as HTMLElement).click()
    })
    await new Promise((r) => setTimeout(r, 1000))
    await allSeen(p.page, '.pin')
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
