import { Hono } from 'hono'
import { z } from 'zod'
import type { WebPush } from '../alerts/web-push.js'
import type { Logger } from '../log.js'
import type { Env } from './auth.js'

const Sub = z.object({
  endpoint: z.string().url().max(2048),
  keys: z.object({ p256dh: z.string().min(1).max(200), auth: z.string().min(1).max(100) }),
  label: z.string().max(100).optional(),
})

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
    if (!me) return c.json({ error: 'sign in as a person to receive alerts', status: 403 }, 403)
    const r = Sub.safeParse(await c.req.json().catch(() => null))
    if (!r.success) return c.json({ error: `body: a PushSubscription ({endpoint, keys: {p256dh, auth}}): ${r.error.issues[0]?.message}`, status: 400 }, 400)
    const u = new URL(r.data.endpoint)
    if (u.protocol !== 'https:' && !(d.allowHttp && u.protocol === 'http:')) return c.json({ error: `endpoint: a push service is reached over https, got ${u.protocol}`, status: 400 }, 400)
    const label = r.data.label ?? (c.req.header('user-agent') ?? 'browser').slice(0, 100)
    d.push.subscribe({ endpoint: r.data.endpoint, keys: r.data.keys, user: me, label, created: new Date().toISOString() })
    d.log.info(`Web Push: ${me} subscribed a browser (${label}, ${u.host})`)
    return c.json({ ok: true }, 201)
  })
  api.delete('/subscriptions', async (c) => {
    const me = c.get('who').user
    const b = await c.req.json().catch(() => null) as { endpoint?: unknown } | null
    const endpoint = typeof b?.endpoint === 'string' ? b.endpoint : c.req.query('endpoint')
    if (!me || !endpoint) return c.json({ error: "give the subscription's endpoint", status: 400 }, 400)
    if (!d.push.unsubscribe(endpoint, me)) return c.json({ error: 'no such subscription of yours', status: 404 }, 404)
    d.log.info(`Web Push: ${me} revoked a browser`)
    return c.json({ ok: true })
  })
  return api
}
