import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import type { BrowserContext } from 'playwright-core'
import { launchBrowser, signInPage, type TestBrowser, type WatchedPage } from '../helpers/browser.js'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { signIn } from '../helpers/session.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'
import { addUsers } from '../helpers/users.js'

type Signed = WatchedPage & { ctx: BrowserContext }

describe('the sharing page: jane shares with fred for two hours at 1 km, then revokes it', () => {
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  let jane: Signed
  let fred: Signed
  let janePhone: MqttClient
  let shareId = ''

  before(async () => {
    tiles = await startTileServer()
    hub = await startHub({ args: ['--tile-url', tiles.url] })
    await addUsers(hub, 'fred', 'jane')
    janePhone = await phone(hub.mqttPort, 'jane', 'jane-pw')
    await janePhone.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja', lat: 48.8566, lon: 2.3522 })), { qos: 1, retain: true })
    const fredPhone = await phone(hub.mqttPort, 'fred', 'fred-pw')
    await fredPhone.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr', lat: 52.52, lon: 13.405 })), { qos: 1, retain: true })
    await fredPhone.endAsync()
    b = await launchBrowser()
  })

  after(async () => {
    await janePhone?.endAsync()
    await b?.close()
    await hub?.stop()
    await tiles?.close()
  })

  test('before any share fred sees only himself, and his sharing page says nobody shares with him', async () => {
    fred = await signInPage(b, hub, 'fred', 'fred-pw')
    await fred.page.waitForSelector('.pin[data-user="fred"]')
    assert.equal(await fred.page.locator('.pin[data-user="jane"]').count(), 0)
    await fred.page.getByRole('button', { name: 'Sharing' }).click()
    await fred.page.locator('#shares-in', { hasText: 'Nobody shares with you yet.' }).waitFor()
    await fred.page.getByRole('button', { name: 'Sharing' }).click()
  })

  test('jane shares with fred for 2 hours at 1 km on the sharing page; the page shows the end time and precision', async () => {
    jane = await signInPage(b, hub, 'jane', 'jane-pw', { width: 375, height: 740 })
    const { page } = jane
    await page.getByRole('button', { name: 'Sharing' }).click()
    await page.locator('#shares-out', { hasText: 'you share nothing yet' }).waitFor()
    await page.getByLabel('With whom').fill('fred')
    await page.getByLabel('For how long').selectOption('2h')
    await page.getByLabel('Precision').selectOption('1km')
    const t0 = Date.now()
    await page.getByRole('button', { name: 'Share', exact: true }).click()
    const item = page.locator('#shares-out li[data-share]')
    await item.waitFor()
    shareId = (await item.getAttribute('data-share'))!
    const text = (await item.innerText()).replace(/\s+/g, ' ')
    assert.match(text, /^fred /)
    assert.ok(text.includes('precision 1km'), text)
    assert.ok(text.includes('all devices') && text.includes('all history'), text)
    const end = /until (\d{4}-\d\d-\d\d \d\d:\d\d)/.exec(text)
    assert.ok(end, `an end time: ${text}`)
    const endMs = new Date(end[1].replace(' ', 'T')).getTime()
    assert.ok(Math.abs(endMs - (t0 + 2 * 3600_000)) < 3 * 60_000, `ends about two hours from now: ${end[1]}`)
    // The rules file says the same.
    const api = await (await hub.http('/api/sharing')).json() as { shares: { id: string; from: string; to: string[]; precision: string; active: boolean }[] }
    const s = api.shares.find((x) => x.id === shareId)!
    assert.deepEqual([s.from, s.to, s.precision, s.active], ['jane', ['fred'], '1km', true])
  })

  test("fred's map shows jane's marker without a reload, blurred to the 1 km grid", async () => {
    const { page } = fred
    await page.evaluate(() => { (window as unknown as { sameDocument: boolean }).sameDocument = true })
    const pin = page.locator('.pin[data-user="jane"]')
    await pin.waitFor({ timeout: 20_000 })
    assert.notEqual(await pin.getAttribute('data-lat'), '48.8566', 'not the exact position')
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload')
  })

  test("fred's sharing page lists jane under whom I see, without a way to change or revoke it", async () => {
    const { page } = fred
    await page.getByRole('button', { name: 'Sharing' }).click()
    const item = page.locator(`#shares-in li[data-share="${shareId}"]`)
    await item.waitFor()
    const text = (await item.innerText()).replace(/\s+/g, ' ')
    assert.match(text, /^jane /)
    assert.ok(text.includes('precision 1km') && /until \d{4}-/.test(text), text)
    assert.equal(await item.getByRole('button').count(), 0, 'no Change or Revoke on a share that is not his')
    assert.equal(await page.locator('#shares-out li[data-share]').count(), 0)
    assert.equal(await page.locator('#share-from-row').isHidden(), true, 'only admins pick whose devices')
    assert.equal(await page.locator('#share-users').isHidden(), true, 'only admins see the users')
  })

  test("fred cannot revoke or change jane's share through the API either", async () => {
    const s = await signIn(hub, 'fred', 'fred-pw')
    const del = await s.http(`/api/sharing/shares/${shareId}`, { method: 'DELETE', csrf: true })
    assert.equal(del.status, 403)
    const patch = await s.http(`/api/sharing/shares/${shareId}`, { method: 'PATCH', csrf: true, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ precision: null }) })
    assert.equal(patch.status, 403)
    const api = await (await hub.http('/api/sharing')).json() as { shares: { id: string; precision: string }[] }
    assert.equal(api.shares.find((x) => x.id === shareId)?.precision, '1km', 'still there, unchanged')
  })

  test('jane changes the share to live only, keeping its end', async () => {
    const { page } = jane
    await page.getByRole('button', { name: 'Change the share with fred' }).click()
    assert.equal(await page.getByLabel('For how long').inputValue(), 'keep')
    await page.locator('#share-history').selectOption('false')
    await page.getByRole('button', { name: 'Save changes' }).click()
    const item = page.locator(`#shares-out li[data-share="${shareId}"]`, { hasText: 'live only' })
    await item.waitFor()
    const text = await item.innerText()
    assert.ok(text.includes('precision 1km') && text.includes('until '), text)
  })

  test("jane revokes the share and her marker leaves fred's map without a reload", async () => {
    await jane.page.getByRole('button', { name: 'Revoke the share with fred' }).click()
    await jane.page.locator('#shares-out', { hasText: 'you share nothing yet' }).waitFor()
    const api = await (await hub.http('/api/sharing')).json() as { shares: unknown[] }
    assert.equal(api.shares.length, 0)
    await fred.page.locator('.pin[data-user="jane"]').waitFor({ state: 'detached', timeout: 20_000 })
    assert.equal(await fred.page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload')
    await fred.page.getByRole('button', { name: 'Sharing' }).click()
    await fred.page.getByRole('button', { name: 'Sharing' }).click()
    await fred.page.locator('#shares-in', { hasText: 'Nobody shares with you yet.' }).waitFor()
  })

  test('an admin sees the users and may share on behalf of someone', async () => {
    const admin = await signInPage(b, hub, 'admin', hub.adminPassword)
    await admin.page.getByRole('button', { name: 'Sharing' }).click()
    await admin.page.locator('#users-list li', { hasText: 'jane' }).waitFor()
    assert.match(await admin.page.locator('#users-list').innerText(), /jane/)
    assert.equal(await admin.page.locator('#share-from-row').isVisible(), true)
    assert.deepEqual(admin.errors, [])
  })

  test('an admin adds, promotes and deletes a user on the Sharing tab at 375 px', async () => {
    const admin = await signInPage(b, hub, 'admin', hub.adminPassword, { width: 375, height: 740 })
    const { page } = admin
    await page.getByRole('button', { name: 'Sharing' }).click()
    await page.locator('#users-list li[data-user="jane"]').waitFor()
    await page.getByLabel("New user's name").fill('kim')
    await page.getByLabel("New user's password").fill('kim-pw-1')
    await page.getByRole('button', { name: 'Add user' }).click()
    await page.locator('#users-list li[data-user="kim"]').waitFor()
    assert.match(await page.locator('#user-status').innerText(), /kim was added/)
    assert.equal(await page.getByLabel("New user's name").inputValue(), '', 'the form is emptied')
    const api = async () => (await (await hub.http('/api/users')).json() as { users: { name: string; admin: boolean }[] }).users
    assert.deepEqual((await api()).find((u) => u.name === 'kim'), { name: 'kim', admin: false })
    // the same name again: the hub's message shows
    await page.getByLabel("New user's name").fill('kim')
    await page.getByLabel("New user's password").fill('x')
    await page.getByRole('button', { name: 'Add user' }).click()
    await page.locator('#user-error', { hasText: 'already exists' }).waitFor()

    await page.getByRole('button', { name: 'Make kim an admin' }).click()
    await page.locator('#users-list li[data-user="kim"]', { hasText: '(admin)' }).waitFor()
    await page.getByRole('button', { name: 'Change the password of kim' }).click()
    await page.getByLabel('New password for kim').fill('kim-pw-2')
    await page.keyboard.press('Enter')
    await page.locator('#user-status', { hasText: 'password of kim was changed' }).waitFor()
    await waitFor('kim signs in with the new password', async () => (await signIn(hub, 'kim', 'kim-pw-2').then(() => true, () => false)), 10_000)

    await page.getByRole('button', { name: 'Delete the user kim' }).click()
    assert.ok((await api()).some((u) => u.name === 'kim'), 'nothing is deleted before the confirmation')
    await page.getByRole('button', { name: 'Yes, delete kim' }).click()
    await page.locator('#users-list li[data-user="kim"]').waitFor({ state: 'detached' })
    assert.equal((await api()).some((u) => u.name === 'kim'), false)
    assert.equal(await page.getByRole('button', { name: 'Delete the user admin' }).isDisabled(), true, 'no deleting yourself')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 375, `no sideways scrolling at 375 px (${width})`)
    // the browser logs the deliberate 409 above as a failed resource; nothing else may show
    assert.deepEqual(admin.errors.filter((e) => !/status of 409 .*\/api\/users$/.test(e)), [])
  })

  test('no console errors', () => {
    assert.deepEqual(jane.errors, [])
    assert.deepEqual(fred.errors, [])
  })
})
