import { Hono } from 'hono'
import { z } from 'zod'
import type { WebPush } from '../alerts/web-push.js'
import type { Logger } from '../log.js'
import type { Env } from './auth.js'
import { jsonBody } from './body.js'
import { HttpError } from './errors.js'

const Sub = z.object({
  endpoint: z.string().url().max(2048),
  keys: z.object({ p256dh: z.string().min(1).max(200), auth: z.string().min(1).max(100) }),
  label: z.string().max(100).optional(),
})
const Unsub = z.object({ endpoint: z.string().min(1).optional() })

/**
 * /api/push: the map's Web Push subscriptions, per person and per browser. GET gives the VAPID public
 * key (the browser subscribes with it) and the caller's browsers; POST adds this browser; DELETE
 * (with its endpoint) revokes it. A push service must be https (a plain-http one only with
 * --push-http, for a push service on the same machine in tests).
 */
export function pushApi(d: { push: WebPush; log: Logger; allowHttp: boolean }): Hono<Env> {
  const api = new Hono<Env>()
  api.get('/', (c) => {
    const me = c.get('who').user
    return c.json({ publicKey: d.push.publicKey, subscriptions: me ? d.push.list(me).map((s) => ({ endpoint: s.endpoint, label: s.label, created: s.created })) : [] })
  })
  api.post('/subscriptions', async (c) => {
    const me = c.get('who').user
    if (!me) throw new HttpError(403, 'sign in as a person to receive alerts')
    const sub = await jsonBody(c, Sub, 'a PushSubscription ({endpoint, keys: {p256dh, auth}})')
    const u = new URL(sub.endpoint)
    if (u.protocol !== 'https:' && !(d.allowHttp && u.protocol === 'http:')) throw new HttpError(400, `endpoint: a push service is reached over https, got ${u.protocol}`)
    const label = sub.label ?? (c.req.header('user-agent') ?? 'browser').slice(0, 100)
    d.push.subscribe({ endpoint: sub.endpoint, keys: sub.keys, user: me, label, created: new Date().toISOString() })
    d.log.info(`Web Push: ${me} subscribed a browser (${label}, ${u.host})`)
    return c.json({ ok: true }, 201)
  })
  api.delete('/subscriptions', async (c) => {
    const me = c.get('who').user
    // The endpoint in a JSON body, or ?endpoint= (a DELETE body is optional)
    const b = c.req.header('content-type')?.includes('json') ? await jsonBody(c, Unsub, "the subscription's endpoint as {endpoint}") : {}
    const endpoint = b.endpoint ?? c.req.query('endpoint')
    if (!me || !endpoint) throw new HttpError(400, "give the subscription's endpoint")
    if (!d.push.unsubscribe(endpoint, me)) throw new HttpError(404, 'no such subscription of yours')
    d.log.info(`Web Push: ${me} revoked a browser`)
    return c.json({ ok: true })
  })
  return api
}
