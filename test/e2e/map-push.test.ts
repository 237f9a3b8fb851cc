import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createECDH } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import type { BrowserContext, Page } from 'playwright-core'
import { decrypt } from 'http_ece'
import { launchBrowser, outputPath, watchedPage, type TestBrowser } from '../helpers/browser.js'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { phone } from '../helpers/phone.js'
import { receiver, TestBrowser as NodeBrowser } from '../helpers/alert-receivers.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'

type Msg = Record<string, unknown>

const SCHOOL = { lat: 52.52, lon: 13.405 }

/*
 * Web Push from the map, in headless Chromium. Chromium without Google's services has no push service
 * of its own (subscribe() would fail), so this test replaces one thing in the page, and only that:
 * PushManager.prototype.subscribe / getSubscription. The replacement does what a browser does — makes a
 * P-256 key pair and a 16-byte auth secret with WebCrypto — and hands back a subscription whose endpoint
 * is the test's push service on 127.0.0.1. Everything else is real: the map's button, the service worker
 * registering, the map posting the subscription to the hub, the hub encrypting (RFC 8291, aes128gcm)
 * with VAPID, and the push service decrypting with the page's private key.
 */
function fakePushService(endpoint: string): void {
  const b64u = (buf: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  // Kept like a browser keeps its subscription: across reloads (here in localStorage), until unsubscribe().
  const KEY = 'test-push-subscription'
  const w = window as unknown as { __push?: Msg }
  const made = (keys: { p256dh: string; auth: string }) => ({
    endpoint, expirationTime: null,
    toJSON: () => ({ endpoint, expirationTime: null, keys }),
    unsubscribe: async () => { localStorage.removeItem(KEY); w.__push = { ...w.__push, unsubscribed: true }; return true },
  }) as unknown as PushSubscription
  PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']) as CryptoKeyPair
    const raw = await crypto.subtle.exportKey('raw', pair.publicKey)
    const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey)
    const keys = { p256dh: b64u(raw), auth: b64u(crypto.getRandomValues(new Uint8Array(16))) }
    const key = options?.applicationServerKey
    w.__push = { privateKey: jwk.d, keys, applicationServerKey: key ? b64u(key as ArrayBuffer) : null, userVisibleOnly: options?.userVisibleOnly ?? false }
    localStorage.setItem(KEY, JSON.stringify(w.__push))
    return made(keys)
  }
  PushManager.prototype.getSubscription = async function () {
    const kept = localStorage.getItem(KEY)
    if (!kept) return null
    w.__push = JSON.parse(kept) as Msg
    return made(w.__push.keys as { p256dh: string; auth: string })
  }
}

describe('Web Push in the map: mum turns alerts on in Chromium, gets lisa\'s arrival encrypted for that browser, and revokes it there', () => {
  let hub: RunningHub
  let tiles: TileServer
  let b: TestBrowser
  let ctx: BrowserContext
  let page: Page
  let errors: string[]
  let lisa: MqttClient
  const push = receiver()
  const endpoint = () => push.then((p) => `${p.url}/push/mums-chromium`)
  const other = push.then((p) => new NodeBrowser(`${p.url}/push/mums-other-browser`))
  const t0 = Math.floor(Date.now() / 1000) - 600

  before(async () => {
    tiles = await startTileServer()
    hub = await startHub({ args: ['--push-http', '--tile-url', tiles.url] })
    await addUsers(hub, 'lisa', 'mum')
    await writeRules(hub, 'shares:\n  - from: lisa\n    to: mum\n')
    const since = hub.logs().length
    writeFileSync(join(hub.aclDir, 'places.yml'), [
      'places:', '  - name: school', '    owner: lisa', `    lat: ${SCHOOL.lat}`, `    lon: ${SCHOOL.lon}`, '    radius: 150m',
      'alerts:', '  - about: lisa', '    to: mum', '    places: [school]', '',
    ].join('\n'))
    await hub.waitForLog(/Reloaded places/, 5000, since)
    lisa = await phone(hub.mqttPort, 'lisa', pw('lisa'))
    b = await launchBrowser()
    ctx = await b.context()
    await ctx.addInitScript(fakePushService, await endpoint())
    ;({ page, errors } = await watchedPage(ctx))
    await page.goto(`http://127.0.0.1:${hub.httpPort}/`)
    await page.getByLabel('User name').fill('mum')
    await page.getByLabel('Password', { exact: true }).fill(pw('mum'))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForSelector('#app:not([hidden])')
  })

  after(async () => {
    await lisa?.endAsync()
    await b?.close()
    await hub?.stop()
    await tiles?.close()
    await (await push).close()
  })

  const fix = (dt: number, at: { lat: number; lon: number }) =>
    lisa.publishAsync('owntracks/lisa/phone', JSON.stringify({ _type: 'location', tid: 'li', tst: t0 + dt, acc: 10, ...at }), { qos: 1 })
  const mine = async () => ((await (await hub.http('/api/push', { user: 'mum', password: pw('mum') })).json()) as { publicKey: string; subscriptions: { endpoint: string; label: string }[] })

  test('mum clicks "Get alerts in this browser": the service worker registers, the page subscribes with the hub\'s VAPID key, and the map posts it', async () => {
    await page.getByRole('button', { name: 'Places' }).click()
    await page.getByRole('button', { name: 'Get alerts in this browser' }).click()
    const item = page.locator('#push-list li', { hasText: 'This browser' })
    await item.waitFor()
    const state = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration('/')
      return { sw: reg?.active?.scriptURL ?? reg?.installing?.scriptURL ?? reg?.waiting?.scriptURL, push: (window as unknown as { __push: Msg }).__push }
    })
    const hubKey = await mine()
    assert.equal(state.sw, `http://127.0.0.1:${hub.httpPort}/sw.js`)
    assert.equal(state.push.applicationServerKey, hubKey.publicKey)
    assert.equal(state.push.userVisibleOnly, true)
    assert.deepEqual(hubKey.subscriptions.map((s) => s.endpoint), [await endpoint()])
    assert.match(hubKey.subscriptions[0].label, /Chrome/)
    assert.equal(await page.getByRole('button', { name: 'Get alerts in this browser' }).isHidden(), true)
    await page.screenshot({ path: outputPath('map-push-on.png') })
  })

  test('lisa arrives at school: the push service gets one request for that browser, and the page\'s key opens it', async () => {
    await fix(0, { lat: SCHOOL.lat + 0.02, lon: SCHOOL.lon })
    await fix(60, SCHOOL)
    const svc = await push
    await waitFor('the push', () => svc.got.length >= 1)
    const r = svc.got[0]
    assert.equal(r.path, '/push/mums-chromium')
    assert.equal(r.headers['content-encoding'], 'aes128gcm')
    assert.match(String(r.headers.authorization), /^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=/)
    const { privateKey, keys } = await page.evaluate(() => (window as unknown as { __push: { privateKey: string; keys: { auth: string } } }).__push)
    const ecdh = createECDH('prime256v1')
    ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'))
    const m = JSON.parse(decrypt(r.body, { version: 'aes128gcm', privateKey: ecdh, authSecret: keys.auth }).toString('utf8')) as Msg
    assert.deepEqual([m.title, m.event, m.user, m.device, m.place, m.tst], ['lisa arrived at school', 'enter', 'lisa', 'phone', 'school', t0 + 60])
    await hub.waitForLog(/Web Push to mum \(.*Chrome.*, 127\.0\.0\.1:\d+\): delivered \(HTTP 201\): lisa arrived at school/)
    // jitter at the fence: inside the margin (150 … 175 m from the centre) nothing changes
    for (const [dt, m] of [[100, 160], [130, 170], [160, 140]]) await fix(dt, { lat: SCHOOL.lat + m / 111_195, lon: SCHOOL.lon })
  })

  test('mum revokes this browser on the map: the hub forgets it and the page unsubscribes; lisa leaving reaches only her other browser', async () => {
    // mum's other browser, subscribed through the API: it gets the leave, which shows the hub sent it
    const o = await other
    assert.equal((await hub.http('/api/push/subscriptions', { user: 'mum', password: pw('mum'), method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(o.subscription('other browser')) })).status, 201)
    await page.reload()
    await page.waitForSelector('#app:not([hidden])')
    await page.getByRole('button', { name: 'Places' }).click()
    await page.locator('#push-list li', { hasText: 'other browser' }).waitFor()
    await page.locator('#push-list li', { hasText: 'This browser' }).getByRole('button', { name: 'Revoke' }).click()
    await waitFor('the list without this browser', async () => (await page.locator('#push-list li', { hasText: 'This browser' }).count()) === 0)
    assert.deepEqual((await mine()).subscriptions.map((s) => s.endpoint), [o.endpoint])
    const stored = JSON.parse(readFileSync(join(hub.dataDir, 'push-subscriptions.json'), 'utf8')) as { endpoint: string }[]
    assert.deepEqual(stored.map((s) => s.endpoint), [o.endpoint])
    assert.equal(await page.evaluate(() => (window as unknown as { __push: Msg }).__push.unsubscribed), true)
    assert.equal(await page.getByRole('button', { name: 'Get alerts in this browser' }).isVisible(), true)

    const svc = await push
    const before = svc.got.length
    await fix(300, { lat: SCHOOL.lat + 0.02, lon: SCHOOL.lon })
    await waitFor('the leave at the other browser', () => svc.got.slice(before).some((r) => r.path === '/push/mums-other-browser'))
    await hub.waitForLog(/Web Push to mum \(other browser, .*\): delivered \(HTTP 201\): lisa left school/)
    assert.deepEqual(svc.got.slice(before).map((r) => r.path), ['/push/mums-other-browser'])
    assert.equal(o.open(svc.got[before].body).title, 'lisa left school')
    assert.doesNotMatch(hub.logs(), /Web Push to mum \(.*Chrome.*\): delivered \(HTTP 201\): lisa left school/)
    // the fence's jitter made no transition: one arrival, one departure, one push to this browser
    assert.equal(hub.logs().match(/Place: lisa\/phone entered school/g)?.length, 1)
    assert.equal(hub.logs().match(/Place: lisa\/phone left school/g)?.length, 1)
    assert.equal(svc.got.filter((r) => r.path === '/push/mums-chromium').length, 1)
    assert.deepEqual(errors, [])
  })
})
