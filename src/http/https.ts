import type { Context, MiddlewareHandler } from 'hono'

export interface HttpsRedirectOptions {
  /** The HTTPS port while HTTPS runs, else undefined (then nothing is redirected). */
  httpsPort: () => number | undefined
  /** --https-redirect */
  redirect: boolean
}

/** Reachable over plain HTTP even with --https-redirect: phones fetch the CA before they can trust HTTPS. */
const PLAIN_OK = new Set(['/ca.crt', '/healthz'])

/** "Secure" is X-Forwarded-Proto, which forwarded.ts has made trustworthy before the request reached us. */
const isSecure = (c: Context) => (c.req.header('x-forwarded-proto') ?? '').split(',')[0].trim() === 'https'

/** With --https-redirect, a plain HTTP request is sent to the same path over HTTPS (308, method kept). */
export function redirectToHttps(o: HttpsRedirectOptions): MiddlewareHandler {
  return async (c, next) => {
    const port = o.httpsPort()
    if (isSecure(c) || !o.redirect || port === undefined || PLAIN_OK.has(c.req.path)) return next()
    const url = new URL(c.req.url)
    const viaProxy = c.req.header('x-forwarded-host')
    // Behind a proxy the public HTTPS port is the proxy's (443); directly it is ours.
    const host = viaProxy ?? `${(c.req.header('host') ?? url.host).replace(/:\d+$/, '')}${port === 443 ? '' : `:${port}`}`
    return c.redirect(`https://${host}${url.pathname}${url.search}`, 308)
  }
}

const SECURE = /;\s*secure\s*(;|$)/i

/** Cookies set on a secure request are marked `Secure`, so a browser never sends a session over plain HTTP. */
export function secureCookies(): MiddlewareHandler {
  return async (c, next) => {
    await next()
    if (!isSecure(c)) return
    const cookies = c.res.headers.getSetCookie()
    if (!cookies.some((k) => !SECURE.test(k))) return
    // In place: assigning c.res would have hono copy the old cookies back over the new ones.
    c.res.headers.delete('set-cookie')
    for (const k of cookies) c.res.headers.append('set-cookie', SECURE.test(k) ? k : `${k}; Secure`)
  }
}
