import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Hono } from 'hono'
import { redirectToHttps, secureCookies } from '../../src/http/https.js'

// forwarded.ts has settled X-Forwarded-Proto before a request reaches the app; here it is set by hand.
function app(httpsPort: number | undefined, redirect: boolean) {
  const a = new Hono()
  a.use('*', redirectToHttps({ httpsPort: () => httpsPort, redirect }))
  a.use('*', secureCookies())
  a.get('/login', (c) => {
    c.header('set-cookie', 'session=abc; Path=/; HttpOnly', { append: true })
    c.header('set-cookie', 'theme=dark; Secure', { append: true })
    return c.text('ok')
  })
  return a
}

describe('https: Secure cookies on HTTPS, redirects to it', () => {
  test('a cookie set on a secure request is marked Secure; one already Secure is left alone', async () => {
    const res = await app(8443, false).request('http://hub/login', { headers: { 'x-forwarded-proto': 'https' } })
    assert.deepEqual(res.headers.getSetCookie(), ['session=abc; Path=/; HttpOnly; Secure', 'theme=dark; Secure'])
    assert.equal(await res.text(), 'ok')
  })

  test('over plain HTTP cookies stay as set (a Secure cookie would never come back)', async () => {
    const res = await app(8443, false).request('http://hub/login', { headers: { 'x-forwarded-proto': 'http' } })
    assert.deepEqual(res.headers.getSetCookie(), ['session=abc; Path=/; HttpOnly', 'theme=dark; Secure'])
  })

  test('no redirect while HTTPS is not running, even when asked for', async () => {
    const res = await app(undefined, true).request('http://hub:8083/login', { headers: { 'x-forwarded-proto': 'http', host: 'hub:8083' } })
    assert.equal(res.status, 200)
  })

  test('port 443 is left out of the redirect', async () => {
    const res = await app(443, true).request('http://hub:8083/login?a=b', { headers: { 'x-forwarded-proto': 'http', host: 'hub:8083' } })
    assert.equal(res.status, 308)
    assert.equal(res.headers.get('location'), 'https://hub/login?a=b')
  })
})
