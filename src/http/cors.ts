import type { MiddlewareHandler } from 'hono'

/** What a web app calling the API may send: its login, the Recorder's X-Limit-* headers, the map's. */
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-CSRF-Token, X-Requested-With, X-Limit-User, X-Limit-Device, X-Limit-From, X-Limit-To'

/**
 * CORS for web apps on other sites the operator named (--cors-origin), such as the OwnTracks Frontend
 * served by its own web server: the preflight is answered before any login is asked (browsers send
 * no credentials with it), and every answer to such an origin names that exact origin and allows
 * credentials. Never `*`: the answers carry people's locations. Other origins get no CORS headers
 * and stay refused by the cross-site check.
 */
export function cors(origins: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin')
    if (origin === undefined || !origins.has(origin)) return next()
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      return c.body(null, 204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE',
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      })
    }
    await next()
    c.header('Access-Control-Allow-Origin', origin)
    c.header('Access-Control-Allow-Credentials', 'true')
    c.header('Access-Control-Expose-Headers', 'X-Request-Id')
    c.header('Vary', 'Origin', { append: true })
  }
}
