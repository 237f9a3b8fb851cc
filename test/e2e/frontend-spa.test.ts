import assert from 'node:assert/strict'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { WebSocket } from 'ws'
import { launchBrowser, watchedPage, type TestBrowser } from '../helpers/browser.js'
import { startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { client, location } from '../helpers/phone.js'
import { startTileServer, type TileServer } from '../helpers/tiles.js'
import { addUsers } from '../helpers/users.js'

/*
 * The OwnTracks Frontend's two deployments, with a small stand-in that does what the Frontend does
 * (test/frontend-spa: inline styles, Leaflet with {s} subdomain tiles, API calls with Basic
 * credentials, /ws/last): served by the hub with --docroot, and from a web server of its own on
 * another site calling the hub, allowed with --cors-origin. In Chromium, with no console errors.
 * `*.test` names resolve to 127.0.0.1 (Chromium's --host-resolver-rules), so `{a,b,c}.tile.test` are
 * three tile hosts and `spa.test` another site than the hub at 127.0.0.1.
 */

const SPA = fileURLToPath(new URL('../../../test/frontend-spa/', import.meta.url))
const LEAFLET = join(dirname(createRequire(import.meta.url).resolve('leaflet/package.json')), 'dist')

let browser: TestBrowser
let tiles: TileServer

/** The stand-in's files with Leaflet beside them, and its config/config.js, as a built Frontend's dist/. */
function buildSpa(config: Record<string, unknown>): string {
  const dir = join(tempDir('othub-spa-'), 'dist')
  cpSync(SPA, dir, { recursive: true })
  mkdirSync(join(dir, 'leaflet'), { recursive: true })
  for (const f of ['leaflet.js', 'leaflet.css']) cpSync(join(LEAFLET, f), join(dir, 'leaflet', f))
  mkdirSync(join(dir, 'config'), { recursive: true })
  writeFileSync(join(dir, 'config', 'config.js'), `window.spaConfig = ${JSON.stringify(config)}\n`)
  return dir
}

const tileUrl = () => `http://{s}.tile.test:${tiles.port}/{z}/{x}/{y}.png`

/** Two of jane's points (history) and then one more while the page listens (live). */
async function publishJane(hub: RunningHub, tid: string): Promise<void> {
  const c = await client(hub.mqttPort, 'jane', 'jane-pw')
  await c.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid, lat: 51.5007, lon: -0.1246 })), { qos: 1, retain: true })
  await c.endAsync()
}

async function waitReady(page: Page): Promise<Record<string, string>> {
  await page.waitForFunction(() => document.body.dataset.state === 'ready' || document.body.dataset.state === 'failed', undefined, { timeout: 20_000 })
  return page.evaluate(() => ({ ...document.body.dataset }) as Record<string, string>)
}

before(async () => {
  browser = await launchBrowser({ hostMap: '*.test' })
  tiles = await startTileServer()
})
after(async () => { await browser?.close(); await tiles?.close() })

describe('the OwnTracks Frontend served by the hub (--docroot)', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub({ args: ['--docroot', buildSpa({ baseUrl: '', tileUrl: tileUrl() })] })
    await addUsers(hub, 'jane')
    await publishJane(hub, 'j1')
  })
  after(async () => { await hub?.stop() })

  test('loads behind the login, asks version, list, last and locations, draws {a,b,c} tiles and follows /ws/last, with no console errors', async () => {
    const ctx = await browser.context({ httpCredentials: { username: 'jane', password: 'jane-pw' } })
    const w = await watchedPage(ctx)
    const before = tiles.requests
    await w.page.goto(`http://127.0.0.1:${hub.httpPort}/`)
    const state = await waitReady(w.page)
    assert.equal(state.state, 'ready', state.error)
    assert.deepEqual([state.users, state.last, state.points], ['jane', '1', '1'])
    await w.page.waitForFunction(() => document.body.dataset.live === '1') // LAST: the newest of each device
    await publishJane(hub, 'j2')
    await w.page.waitForFunction(() => document.body.dataset.lastTid === 'j2')
    assert.ok(tiles.requests > before, 'tiles were drawn')
    for (const s of ['a', 'b', 'c']) assert.ok(tiles.hosts.has(`${s}.tile.test:${tiles.port}`), `tiles from ${s}.tile.test (saw ${[...tiles.hosts].join(', ')})`)
    assert.equal(await w.page.evaluate(() => getComputedStyle(document.getElementById('status')!).height), '40px', 'the inline styles apply')
    assert.deepEqual(w.errors, [])
    await ctx.close()
  })

  test("its files carry no CSP of the hub's; the hub's own pages keep theirs; without a login there is nothing", async () => {
    const page = await hub.http('/', { user: 'jane', password: 'jane-pw' })
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('content-security-policy'), null)
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff')
    const tour = await hub.http('/view/00000000-0000-4000-8000-000000000000', { user: '' })
    assert.match(tour.headers.get('content-security-policy') ?? '', /default-src 'self'/)
    assert.equal((await hub.http('/app.js', { user: '' })).status, 401)
  })

  test('--docroot-csp sets the policy for the app', async () => {
    const csp = "default-src 'self'; style-src 'self' 'unsafe-inline'"
    const other = await startHub({ args: ['--docroot', buildSpa({ baseUrl: '', tileUrl: tileUrl() }), '--docroot-csp', csp] })
    try {
      const res = await other.http('/index.html')
      assert.equal(res.headers.get('content-security-policy'), csp)
    } finally { await other.stop() }
  })
})

describe('the OwnTracks Frontend on its own web server, calling the hub (--cors-origin)', () => {
  let spa: { server: Server; origin: string }
  let hub: RunningHub
  let plain: RunningHub

  before(async () => {
    // The hub's address goes into the app's config, so the web server starts first and the app's
    // files are written once the hubs are up.
    const root = tempDir('othub-spa-site-')
    const server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '')
      const file = join(root, 'site', path.endsWith('/') ? `${path}index.html` : path)
      try {
        const body = readFileSync(file)
        const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' }[extname(file)] ?? 'application/octet-stream'
        res.writeHead(200, { 'Content-Type': type }).end(body)
      } catch { res.writeHead(404).end() }
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const origin = `http://spa.test:${(server.address() as AddressInfo).port}`
    spa = { server, origin }
    hub = await startHub({ args: ['--cors-origin', `${origin},https://other.example`] })
    plain = await startHub()
    await addUsers(hub, 'jane')
    await addUsers(plain, 'jane')
    await publishJane(hub, 'j1')
    await publishJane(plain, 'j1')
    ;(spa as { root?: string }).root = root
  })
  after(async () => {
    await hub?.stop(); await plain?.stop()
    await new Promise<void>((r) => { spa?.server.closeAllConnections(); spa?.server.close(() => r()) })
  })

  const site = (target: RunningHub) => {
    const root = (spa as { root?: string }).root!
    const dist = buildSpa({ baseUrl: `http://127.0.0.1:${target.httpPort}`, tileUrl: tileUrl(), basic: 'jane:jane-pw', live: false })
    cpSync(dist, join(root, 'site'), { recursive: true, force: true })
  }

  test('with the origin allowed: preflight, credentials and the same answers in Chromium, with no console errors', async () => {
    site(hub)
    const ctx = await browser.context()
    const w = await watchedPage(ctx)
    const seen: string[] = []
    w.page.on('request', (r) => { if (r.url().includes('/api/0/')) seen.push(`${r.method()} ${new URL(r.url()).pathname}`) })
    await w.page.goto(`${spa.origin}/`)
    const state = await waitReady(w.page)
    assert.equal(state.state, 'ready', state.error)
    assert.deepEqual([state.users, state.last, state.points], ['jane', '1', '1'])
    assert.ok(seen.includes('GET /api/0/locations'), seen.join(', '))
    assert.deepEqual(w.errors, [])
    await ctx.close()
  })

  // Chromium keeps HTTP logins per top-level site, so a page on another site cannot hand /ws/last a
  // Basic login (a WebSocket sends no Authorization header of its own); a client that can send one
  // is let in from an allowed origin and refused from any other.
  test('/ws/last takes a login from an allowed origin and refuses other origins', async () => {
    const open = (origin: string) => new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws/last`, { origin, headers: { Authorization: 'Basic ' + Buffer.from('jane:jane-pw').toString('base64') } })
      ws.on('open', () => { ws.send('LAST') })
      ws.on('message', () => { ws.close(); resolve(101) })
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
      ws.on('error', () => {})
    })
    assert.equal(await open(spa.origin), 101)
    assert.equal(await open('http://evil.test'), 403)
  })

  test('the preflight names the exact origin with credentials, never *; another origin gets no CORS and is refused', async () => {
    const pre = await fetch(`http://127.0.0.1:${hub.httpPort}/api/0/last`, { method: 'OPTIONS', headers: { Origin: spa.origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } })
    assert.equal(pre.status, 204)
    assert.equal(pre.headers.get('access-control-allow-origin'), spa.origin)
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true')
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/)
    const ok = await hub.http('/api/0/list', { user: 'jane', password: 'jane-pw', headers: { Origin: spa.origin, 'Sec-Fetch-Site': 'cross-site' } })
    assert.equal(ok.status, 200)
    assert.equal(ok.headers.get('access-control-allow-origin'), spa.origin)
    const evil = await hub.http('/api/0/list', { user: 'jane', password: 'jane-pw', headers: { Origin: 'http://evil.test', 'Sec-Fetch-Site': 'cross-site' } })
    assert.equal(evil.status, 403)
    assert.equal(evil.headers.get('access-control-allow-origin'), null)
    const evilPre = await fetch(`http://127.0.0.1:${hub.httpPort}/api/0/last`, { method: 'OPTIONS', headers: { Origin: 'http://evil.test', 'Access-Control-Request-Method': 'GET' } })
    assert.equal(evilPre.headers.get('access-control-allow-origin'), null)
  })

  test('without --cors-origin the same app is refused, as before', async () => {
    site(plain)
    const ctx = await browser.context()
    const w = await watchedPage(ctx)
    await w.page.goto(`${spa.origin}/`)
    const state = await waitReady(w.page)
    assert.equal(state.state, 'failed')
    const res = await plain.http('/api/0/list', { user: 'jane', password: 'jane-pw', headers: { Origin: spa.origin, 'Sec-Fetch-Site': 'cross-site' } })
    assert.equal(res.status, 403)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
    await ctx.close()
  })
})
