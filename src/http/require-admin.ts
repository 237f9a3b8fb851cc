import type { MiddlewareHandler } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { Env } from './auth.js'
import { HttpError } from './errors.js'

/**
 * The admin guard of every HTTP route that is for admins. It asks access.isAdmin(), the one admin
 * decision MQTT uses too: `<data>/admins` and `admins:` in acl/sharing.yml, as they are now (not as
 * they were when the caller signed in).
 */
export function requireAdmin(access: Pick<AccessControl, 'isAdmin'>, refusal: string): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (!access.isAdmin(c.get('who'))) throw new HttpError(403, refusal)
    await next()
  }
}
