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
  return identifyBasic(c.req.header('authorization'), users, 'http')
}

/** The user an `Authorization: Basic …` header proves, or undefined; `via` prefixes the client id. */
export async function identifyBasic(header: string | undefined, users: UserRegistry, via: string): Promise<Identity | undefined> {
  if (!header || !/^basic /i.test(header)) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return undefined
  const user = decoded.slice(0, i)
  if (!(await users.verify(user, decoded.slice(i + 1)))) return undefined
  return { user, admin: users.isAdmin(user), clientId: `${via}:${user}` }
}
