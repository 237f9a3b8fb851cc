import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { signIn } from '../helpers/session.js'
import { addUsers } from '../helpers/users.js'

const url = (hub: RunningHub, path: string) => `http://127.0.0.1:${hub.httpPort}${path}`

describe('signing in to the map: a session cookie instead of HTTP Basic, with the same rights', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub({ args: ['--trust-proxy', '127.0.0.1'] }) // the test plays the reverse proxy
    await addUsers(hub, 'fred', 'jane')
    const p = await phone(hub.mqttPort, 'fred', 'fred-pw')
    await p.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr' })), { qos: 1, retain: true })
    const j = await phone(hub.mqttPort, 'jane', 'jane-pw')
    await j.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tid: 'ja' })), { qos: 1, retain: true })
    await Promise.all([p.endAsync(), j.endAsync()])
  })
  after(async () => { await hub?.stop() })

  test('sign-in sets an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP) and answers with a CSRF token', async () => {
    const s = await signIn(hub, 'fred', 'fred-pw')
    assert.match(s.setCookie, /^othub_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/)
    assert.match(s.csrf, /^[\w-]{40,}$/)
    const me = await (await s.http('/session')).json() as { user: string; admin: boolean; csrf: string; map: { tileUrl: string; live: boolean } }
    assert.deepEqual([me.user, me.admin, me.csrf], ['fred', false, s.csrf])
    assert.equal(me.map.tileUrl, 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', 'OpenStreetMap by default')
    assert.match(hub.logs(), /Signed in: 'fred' from 127\.0\.0\.1\./)
  })

  test('the cookie is Secure when the browser came over HTTPS (through a trusted proxy saying so)', async () => {
    const s = await signIn(hub, 'fred', 'fred-pw', { 'x-forwarded-proto': 'https' })
    assert.match(s.setCookie, /; Secure$/)
    const plain = await signIn(hub, 'fred', 'fred-pw')
    assert.doesNotMatch(plain.setCookie, /Secure/)
  })

  test('without a session /session says nobody is signed in, and the cookie and Basic give the same answers', async () => {
    const nobody = await fetch(url(hub, '/session'))
    assert.equal(nobody.status, 200)
    assert.deepEqual(await nobody.json(), { user: null })
    const s = await signIn(hub, 'fred', 'fred-pw')
    for (const path of ['/api/0/last', '/api/0/list', '/api/0/list?user=fred']) {
      const viaCookie = await (await s.http(path)).json()
      const viaBasic = await (await hub.http(path, { user: 'fred', password: 'fred-pw' })).json()
      assert.deepEqual(viaCookie, viaBasic, path)
    }
    const last = await (await s.http('/api/0/last')).json() as { username: string }[]
    assert.deepEqual(last.map((l) => l.username), ['fred'], "fred's session sees fred only, as his Basic login does")
    assert.equal((await s.http('/api/0/locations?user=jane&device=phone&limit=1')).status, 403)
  })

  test('the API without a session or credentials: 401; only non-map callers are asked for Basic credentials', async () => {
    const plain = await fetch(url(hub, '/api/0/last'))
    assert.equal(plain.status, 401)
    assert.match(plain.headers.get('www-authenticate') ?? '', /^Basic realm=/)
    const fromMap = await fetch(url(hub, '/api/0/last'), { headers: { 'x-requested-with': 'owntracks-hub-map' } })
    assert.equal(fromMap.status, 401)
    assert.equal(fromMap.headers.get('www-authenticate'), null, 'no browser dialog over the map')
    const forged = await fetch(url(hub, '/api/0/last'), { headers: { cookie: 'othub_session=made-up' } })
    assert.equal(forged.status, 401)
    for (const path of ['/api/tours', '/api/0/list', '/api/0/locations?user=fred&device=phone']) {
      assert.equal((await fetch(url(hub, path))).status, 401, path)
    }
  })

  test('CSRF: a state-changing request with the cookie needs the token, and a foreign Origin is refused even with it', async () => {
    const s = await signIn(hub, 'fred', 'fred-pw')
    const body = JSON.stringify({ device: 'phone', label: 'x', from: '2024-01-01T00:00:00', to: '2024-01-01T01:00:00' })
    const headers = { 'content-type': 'application/json' }
    const without = await s.http('/api/tours', { method: 'POST', headers, body })
    assert.equal(without.status, 403)
    assert.match((await without.json() as { error: string }).error, /CSRF token missing or wrong/)
    const wrong = await s.http('/api/tours', { method: 'POST', headers: { ...headers, 'x-csrf-token': 'nope' }, body })
    assert.equal(wrong.status, 403)
    const foreign = await s.http('/api/tours', { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body, csrf: true })
    assert.equal(foreign.status, 403)
    assert.match((await foreign.json() as { error: string }).error, /cross-origin request refused/)
    assert.deepEqual((await (await s.http('/api/tours')).json() as { ntours: number }).ntours, 0, 'nothing was created')
    const ok = await s.http('/api/tours', { method: 'POST', headers: { ...headers, origin: `http://127.0.0.1:${hub.httpPort}` }, body, csrf: true })
    assert.equal(ok.status, 201)
    const signOutWithout = await s.http('/signout', { method: 'POST' })
    assert.equal(signOutWithout.status, 403, 'sign-out needs the token too')
    const crossSignIn = await fetch(url(hub, '/signin'), { method: 'POST', headers: { ...headers, origin: 'http://evil.example' }, body: JSON.stringify({ user: 'fred', password: 'fred-pw' }) })
    assert.equal(crossSignIn.status, 403, 'no sign-in from another site')
  })

  test('sign-out ends the session: the same cookie is then refused', async () => {
    const s = await signIn(hub, 'jane', 'jane-pw')
    assert.equal((await s.http('/api/0/last')).status, 200)
    const out = await s.http('/signout', { method: 'POST', csrf: true })
    assert.equal(out.status, 200)
    assert.match(out.headers.get('set-cookie') ?? '', /^othub_session=; .*Max-Age=0/)
    assert.equal((await s.http('/api/0/last')).status, 401)
    assert.deepEqual(await (await s.http('/session')).json(), { user: null })
  })

  test("a password change ends the user's sessions", async () => {
    const s = await signIn(hub, 'jane', 'jane-pw')
    const since = hub.logs().length
    assert.equal((await runCli(['user', 'passwd', 'jane', '--password', 'jane-pw2', '--data', hub.dataDir])).code, 0)
    await hub.waitForLog(/Reloaded users/, 10_000, since)
    assert.equal((await s.http('/api/0/last')).status, 401)
    await signIn(hub, 'jane', 'jane-pw2')
  })

  test('the map, Leaflet and the QR encoder come from the hub itself, with a CSP that allows nothing else but tiles', async () => {
    const page = await fetch(url(hub, '/'))
    assert.equal(page.status, 200)
    assert.match(await page.text(), /<script src="\/vendor\/leaflet\/leaflet\.js"/)
    const csp = page.headers.get('content-security-policy') ?? ''
    assert.match(csp, /script-src 'self';/)
    assert.match(csp, /img-src 'self' data: blob: https:\/\/tile\.openstreetmap\.org;/)
    assert.match(csp, /frame-ancestors 'none'/)
    const leaflet = await fetch(url(hub, '/vendor/leaflet/leaflet.js'))
    assert.equal(leaflet.status, 200)
    assert.match(await leaflet.text(), /Leaflet 1\.9/)
    assert.equal((await fetch(url(hub, '/vendor/leaflet/leaflet.css'))).status, 200)
    const qr = await fetch(url(hub, '/vendor/qrcode.js'))
    assert.match(qr.headers.get('content-type') ?? '', /javascript/)
    assert.match(await qr.text(), /window\.QRCode = load\(0\)/)
    assert.equal((await fetch(url(hub, '/vendor/leaflet/../../package.json'))).status, 404)
    assert.equal((await fetch(url(hub, '/js/main.js'))).status, 200)
  })
})

describe('sign-ins are throttled per account and address', () => {
  let hub: RunningHub
  before(async () => {
    // One check a minute after the burst: no refill can land inside the test, however slow the machine.
    hub = await startHub({ args: ['--auth-rate-account', '1'] })
    await addUsers(hub, 'fred')
  })
  after(async () => { await hub?.stop() })

  test('a wrong password is 401 and logged; after the burst of password checks an account allows, 429 with Retry-After, even with the right password', async () => {
    const attempt = (password: string) => fetch(url(hub, '/signin'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'fred', password }) })
    const first = await attempt('guess-1')
    assert.equal(first.status, 401)
    assert.deepEqual(await first.json(), { error: 'wrong user name or password', status: 401 })
    assert.match(hub.logs(), /Sign-in refused for 'fred' from 127\.0\.0\.1: wrong user name or password\./)
    assert.doesNotMatch(hub.logs(), /guess-1/, 'passwords are never logged')
    // 10 checks at once per account, then one a minute here: guesses soon find the budget spent.
    const throttled = await waitFor('a 429', async () => { const r = await attempt('guess'); return r.status === 429 ? r : undefined }, 20_000)
    assert.match(throttled.headers.get('retry-after') ?? '', /^\d+$/)
    assert.match((await throttled.json() as { error: string }).error, /too many sign-ins for this user or from your address; try again in \d+ s/)
    assert.equal((await attempt('fred-pw')).status, 429, 'not even the right password gets through while throttled')
  })

  test('sign-in needs a user and a password', async () => {
    const r = await fetch(url(hub, '/signin'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"fred"}' })
    assert.equal(r.status, 400)
    assert.match((await r.json() as { error: string }).error, /give 'user' and 'password'/)
  })
})
