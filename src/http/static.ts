import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono, type MiddlewareHandler } from 'hono'
import type { Env } from './auth.js'
import { qrcodeBrowserScript } from './vendor-qrcode.js'

/** The map's files: plain HTML, CSS and ES modules, served as they are (no build step). */
export const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url))

const req = createRequire(import.meta.url)
const LEAFLET_DIR = join(dirname(req.resolve('leaflet/package.json')), 'dist')

/**
 * The map's pages and the libraries they load, all from this hub (no CDN: a home network without internet
 * still gets a working map; only the tiles come from outside). Leaflet from node_modules/leaflet/dist at
 * /vendor/leaflet/, the QR encoder at /vendor/qrcode.js, the rest from public/.
 */
export function staticRoutes(): Hono<Env> {
  const app = new Hono<Env>()
  const vendorCache: MiddlewareHandler = async (c, next) => { await next(); c.header('Cache-Control', 'public, max-age=86400') }
  app.use('/vendor/*', vendorCache)
  app.get('/vendor/leaflet/*', serveStatic({ root: LEAFLET_DIR, rewriteRequestPath: (p) => p.slice('/vendor/leaflet'.length) }))
  let qrcode: string | undefined
  app.get('/vendor/qrcode.js', (c) => {
    qrcode ??= qrcodeBrowserScript()
    return c.body(qrcode, 200, { 'Content-Type': 'text/javascript; charset=utf-8' })
  })
  // Our own files change with each release: browsers revalidate them (Last-Modified) instead of guessing.
  app.use('*', async (c, next) => { await next(); if (c.res.ok && !c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-cache') })
  app.get('*', serveStatic({ root: PUBLIC_DIR }))
  return app
}

/** Requests answered from --docroot: a web app of its own, which the hub's CSP would break. */
const appRequests = new WeakSet<Request>()

/**
 * Serves --docroot's files. They get the operator's CSP (--docroot-csp) or none, as from a plain web
 * server: a single-page app such as the OwnTracks Frontend sets inline styles (Vue, Leaflet) and
 * loads its own choice of tile servers, which the map's policy would block.
 */
export function docrootRoutes(root: string, csp: string | undefined): MiddlewareHandler[] {
  const mark: MiddlewareHandler = async (c, next) => {
    appRequests.add(c.req.raw)
    await next()
    if (csp) c.header('Content-Security-Policy', csp)
  }
  return [mark, serveStatic({ root })]
}

/**
 * Headers for every answer. The CSP (not on --docroot's files: docrootRoutes) allows scripts, styles and connections from this hub only (so an
 * injected tag could not load or send anything elsewhere) and images from here, data: URLs (card faces)
 * and the tile server. No framing (clickjacking). The referrer sent to the tile server is only the hub's
 * origin, never a page path: a tour page's path is its secret.
 */
export function securityHeaders(tileUrl: string): MiddlewareHandler {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob: ${tileSource(tileUrl)}`.trim(),
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
  return async (c, next) => {
    await next()
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('X-Frame-Options', 'DENY')
    c.header('Referrer-Policy', 'strict-origin-when-cross-origin')
    if (!appRequests.has(c.req.raw)) c.header('Content-Security-Policy', csp)
  }
}

/** The CSP source for tile images: `https://{s}.tile.example.org/…` → `https://*.tile.example.org`. */
export function tileSource(tileUrl: string): string {
  if (tileUrl.startsWith('/')) return ''
  try {
    const u = new URL(tileUrl.replace(/\{s\}/g, 'tile-subdomain'))
    return `${u.protocol}//${u.host.replace('tile-subdomain', '*')}`
  } catch {
    return tileUrl.startsWith('https:') ? 'https:' : 'http:'
  }
}
