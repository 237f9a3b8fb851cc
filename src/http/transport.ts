import type { MiddlewareHandler } from 'hono'

export interface TransportOptions {
  /** The HTTPS port while HTTPS runs, else undefined (then nothing is redirected). */
  httpsPort: () => number | undefined
  /** --https-redirect */
  redirect: boolean
}

/** Reachable over plain HTTP even with --https-redirect: phones fetch the CA before they can trust HTTPS. */
const PLAIN_OK = new Set(['/ca.crt', '/healthz'])

/**
 * HTTP vs HTTPS, for every route: plain requests are redirected when asked to, and cookies set on a
 * secure request are marked `Secure` so a browser never sends a session over plain HTTP. "Secure" is
 * X-Forwarded-Proto, which forwarded.ts has made trustworthy before the request reached us.
 */
export function transport(o: TransportOptions): MiddlewareHandler {
  return async (c, next) => {
    const secure = (c.req.header('x-forwarded-proto') ?? '').split(',')[0].trim() === 'https'
    const port = o.httpsPort()
    if (!secure && o.redirect && port !== undefined && !PLAIN_OK.has(c.req.path)) {
      const url = new URL(c.req.url)
      const viaProxy = c.req.header('x-forwarded-host')
      // Behind a proxy the public HTTPS port is the proxy's (443); directly it is ours.
      const host = viaProxy ?? `${(c.req.header('host') ?? url.host).replace(/:\d+$/, '')}${port === 443 ? '' : `:${port}`}`
      return c.redirect(`https://${host}${url.pathname}${url.search}`, 308)
    }
    await next()
    if (!secure) return
    const cookies = c.res.headers.getSetCookie()
    if (!cookies.some((k) => !/;\s*secure\s*(;|$)/i.test(k))) return
    // In place: assigning c.res would have hono copy the old cookies back over the new ones.
    c.res.headers.delete('set-cookie')
    for (const k of cookies) c.res.headers.append('set-cookie', /;\s*secure\s*(;|$)/i.test(k) ? k : `${k}; Secure`)
  }
}
