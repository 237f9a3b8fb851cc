import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Hono } from 'hono'
import type { Tours } from '../tours/tours.js'
import type { Env } from './auth.js'
import { PUBLIC_DIR } from './static.js'
import { HttpError } from './errors.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const GONE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tour not found</title><link rel="stylesheet" href="/css/map.css"></head>
<body class="message-page"><main><h1>Tour not found</h1><p>This link does not lead to a tour: it may have been deleted by its owner.</p></main></body></html>
`

/**
 * Public tour pages, no sign-in: /view/<uuid> is the page, /view/<uuid>/track its data. Both answer 404
 * as soon as the tour is deleted. Nothing is cached, so a deletion takes effect at the next load.
 */
export function tourViewRoutes(tours: Tours, tiles: { tileUrl: string; tileAttribution: string }): Hono<Env> {
  const app = new Hono<Env>()
  // The page is public, so the tile settings travel inside it rather than through the signed-in /session.
  const tilesJson = JSON.stringify({ tileUrl: tiles.tileUrl, tileAttribution: tiles.tileAttribution }).replace(/</g, '\\u003c')
  app.use('*', async (c, next) => { await next(); c.header('Cache-Control', 'no-store') })

  app.get('/:uuid', async (c) => {
    const uuid = c.req.param('uuid')
    if (!UUID.test(uuid) || !tours.get(uuid)) return c.html(GONE, 404)
    const page = await readFile(join(PUBLIC_DIR, 'view.html'), 'utf8')
    return c.html(page.replace('<script type="application/json" id="tiles">{}</script>', () => `<script type="application/json" id="tiles">${tilesJson}</script>`))
  })

  app.get('/:uuid/track', async (c) => {
    const uuid = c.req.param('uuid')
    const view = UUID.test(uuid) ? await tours.view(uuid) : undefined
    if (!view) throw new HttpError(404, 'no such tour (it may have been deleted)')
    return c.json(view)
  })

  return app
}
