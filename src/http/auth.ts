import type { Context, MiddlewareHandler } from 'hono'
import type { Identity } from '../access/access.js'
import type { UserRegistry } from '../users/registry.js'

export type Env = { Variables: { who: Identity } }

/**
 * HTTP Basic auth with the MQTT users. The Recorder had none; the hub requires it everywhere
 * but /healthz. 401 carries WWW-Authenticate so browsers and curl prompt.
 */
export function basicAuth(users: UserRegistry, realm = 'owntracks-hub'): MiddlewareHandler<Env> {
  return async (c, next) => {
    const who = await identify(c, users)
    if (!who) {
      return c.json({ error: 'authentication required: HTTP Basic with a hub user', status: 401 }, 401, {
        'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"`,
      })
    }
    c.set('who', who)
    await next()
  }
}

async function identify(c: Context, users: UserRegistry): Promise<Identity | undefined> {
  const h = c.req.header('authorization')
  if (!h || !/^basic /i.test(h)) return undefined
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return undefined
  const user = decoded.slice(0, i)
  if (!(await users.verify(user, decoded.slice(i + 1)))) return undefined
  return { user, admin: users.isAdmin(user), clientId: `http:${user}` }
}
