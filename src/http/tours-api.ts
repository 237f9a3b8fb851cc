import { Hono, type Context } from 'hono'
import type { HistoryStore } from '../store/types.js'
import { TourError, type Tours } from '../tours/tours.js'
import { isHttps, type Env } from './auth.js'
import { z } from 'zod'
import { jsonBody } from './body.js'
import { HttpError } from './errors.js'

/**
 * Tours from the map (or a script): /api/tours lists the caller's tours, POST creates one for one of the
 * caller's own devices, DELETE /api/tours/<uuid> deletes one. Behind /api's authentication, so the
 * cookie's CSRF token is required for POST and DELETE.
 */
export function toursApi(tours: Tours, history: HistoryStore, publicUrl: string | undefined): Hono<Env> {
  const api = new Hono<Env>()
  // Without a configured publicUrl, the address this browser used is the best guess at one that works.
  const base = (c: Context<Env>) => publicUrl ?? `${isHttps(c) ? 'https' : 'http'}://${c.req.header('x-forwarded-host')?.split(',')[0].trim() ?? c.req.header('host')}`
  const me = (c: Context<Env>) => c.get('who').user ?? ''

  api.get('/', (c) => {
    // The window as epoch seconds too: the map shows it in the viewer's time zone.
    const list = tours.list(me(c)).map((t) => ({ ...tours.info(t, base(c)), fromTst: t.fromTst, toTst: t.toTst }))
    return c.json({ tours: list, ntours: list.length })
  })

  api.post('/', async (c) => {
    // label, from and to are checked by tours.create, as for a phone's request
    const body = await jsonBody(c, z.looseObject({ device: z.unknown(), label: z.unknown(), from: z.unknown(), to: z.unknown() }), 'a JSON object: {"device", "label", "from", "to"}')
    const user = me(c)
    const device = body.device
    const mine = history.devices().filter((d) => d.user === user).map((d) => d.device)
    if (typeof device !== 'string' || !mine.includes(device)) {
      throw new HttpError(400, `'device' must be one of your devices (${mine.join(', ') || 'none yet: a phone must report first'})`)
    }
    try {
      const t = await tours.create(user, device, body)
      return c.json({ tour: { ...tours.info(t, base(c)), fromTst: t.fromTst, toTst: t.toTst } }, 201)
    } catch (err) {
      if (err instanceof TourError) throw new HttpError(400, err.message)
      throw err
    }
  })

  api.delete('/:uuid', async (c) => {
    if (await tours.remove(me(c), c.req.param('uuid'))) return c.body(null, 204)
    throw new HttpError(404, 'no such tour of yours')
  })

  return api
}
