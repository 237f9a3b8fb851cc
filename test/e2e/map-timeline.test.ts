import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { outputPath, signInPage, type TestBrowser } from '../helpers/browser.js'
import { waitFor, type RunningHub } from '../helpers/hub.js'
import { familyWeek, PHONE, DESKTOP, allSeen, type FamilyWeek, type Signed } from '../helpers/family-week.js'
import { week } from '../helpers/days.js'

describe('the map\'s timeline: one day of visits and trips, previous/next day, light and dark', () => {
  let w: FamilyWeek
  let hub: RunningHub
  let b: TestBrowser

  before(async () => {
    w = await familyWeek()
    ;({ hub, b } = w)
  })
  after(async () => { await w?.stop() })

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

  test('a slow answer for the day asked first does not replace the day chosen after it', async () => {
    const p = await signInPage(b, hub, 'jane', 'jane-pw', DESKTOP)
    // the answer for Monday is held back until Tuesday's has been drawn
    let tuesdayDrawn = false
    await p.page.route('**/api/0/day?*', async (route) => {
      if (new URL(route.request().url()).searchParams.get('date') === '2026-11-02') await waitFor('Tuesday drawn first', () => tuesdayDrawn)
      await route.continue()
    })
    await p.page.getByRole('button', { name: 'Timeline' }).click()
    await p.page.locator('#timeline-device').selectOption('jane/phone')
    await p.page.locator('#timeline-date').fill('2026-11-02')
    await p.page.locator('#timeline-date').fill('2026-11-03')
    await p.page.locator('#timeline-summary[data-date="2026-11-03"]').waitFor()
    const monday = p.page.waitForResponse((r) => r.url().includes('date=2026-11-02'))
    tuesdayDrawn = true
    await monday
    // the page has Monday's answer now: a moment for it to draw it (it must not)
    await p.page.evaluate(() => new Promise((r) => setTimeout(r, 300)))
    assert.equal(await p.page.locator('#timeline-summary').getAttribute('data-date'), '2026-11-03')
    assert.match(await p.page.locator('#timeline-title').innerText(), /Tuesday/)
    assert.deepEqual(p.errors, [])
    await p.ctx.close()
  })

  test('the history panel too: a slow track asked first is not drawn over the one asked after it', async () => {
    const p = await signInPage(b, hub, 'jane', 'jane-pw', DESKTOP)
    let secondDrawn = false
    // the first track's `from`, as the page reads its local time
    const firstFrom = await p.page.evaluate(() => String(new Date('2026-11-02T00:00').getTime() / 1000))
    await p.page.route('**/api/0/locations?*', async (route) => {
      if (new URL(route.request().url()).searchParams.get('from') === firstFrom) await waitFor('the second track drawn first', () => secondDrawn)
      await route.continue()
    })
    await p.page.getByRole('button', { name: 'History' }).click()
    await p.page.locator('#history-device').selectOption('jane/phone')
    await p.page.getByLabel('Range').selectOption('custom')
    const show = async (from: string, to: string) => {
      await p.page.locator('#history-from').fill(from)
      await p.page.locator('#history-to').fill(to)
      await p.page.getByRole('button', { name: 'Show track' }).click()
    }
    await show('2026-11-02T00:00', '2026-11-02T23:59')
    await show('2026-11-03T10:00', '2026-11-03T10:30')
    await p.page.locator('#history-summary[data-points]:not([data-points=""])').waitFor()
    const second = await p.page.locator('#history-summary').getAttribute('data-points')
    const first = p.page.waitForResponse((r) => new URL(r.url()).searchParams.get('from') === firstFrom)
    secondDrawn = true
    await first
    await p.page.evaluate(() => new Promise((r) => setTimeout(r, 300)))
    assert.equal(await p.page.locator('#history-summary').getAttribute('data-points'), second, 'still the track asked for last')
    assert.deepEqual(p.errors, [])
    await p.ctx.close()
  })

  test('dark mode follows the system setting', async () => {
    const p = await signInPage(b, hub, 'jane', 'jane-pw', DESKTOP)
    await p.page.emulateMedia({ colorScheme: 'dark' })
    await openTimeline(p, '2026-11-04')
    // the year's heat map: the generated week is there, and a day of it opens that day
    await p.page.locator('#stats-summary[data-to="2026-11-04"]').waitFor()
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
