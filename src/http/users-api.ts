import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AccessControl } from '../access/access.js'
import type { Logger } from '../log.js'
import { newUserNameProblem } from '../users/name-policy.js'
import { validateUserName, type UserRegistry } from '../users/registry.js'
import type { Env } from './auth.js'
import { jsonBody } from './body.js'
import { HttpError } from './errors.js'
import { requireAdmin } from './require-admin.js'
import { serialQueue } from './serial.js'

export interface UsersApiDeps {
  access: AccessControl
  users: UserRegistry
  log: Logger
}

const userName = z.string({ error: 'a user name (string) is required' }).superRefine((v, ctx) => {
  try { validateUserName(v) } catch (err) { ctx.addIssue({ code: 'custom', message: (err as Error).message }) }
})
const password = z.string({ error: 'a non-empty password is required' }).min(1, { error: 'a non-empty password is required' })
const admin = z.boolean({ error: 'must be true or false' })

const Add = z.strictObject({ name: userName, password, admin: admin.optional() })
const Change = z.strictObject({ password: password.optional(), admin: admin.optional() })

/**
 * /api/users: admins list, add, change and remove the hub's users. The registry writes the Mosquitto
 * password file (and the admins file) atomically; the hub's watcher re-reads them within a second.
 * Passwords are never logged.
 */
export function usersApi(d: UsersApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  const serial = serialQueue() // two requests never write the password file from the same old copy

  api.use('*', requireAdmin(d.access, 'only an admin may manage users'))

  const me = (c: Context<Env>) => c.get('who').user ?? 'anonymous'

  api.get('/', (c) => c.json({ users: d.users.list() }))

  api.post('/', async (c) => {
    const { name: n, password: pw, admin: a = false } = await jsonBody(c, Add)
    return serial(async () => {
      d.users.reload()
      if (d.users.has(n)) throw new HttpError(409, `name: a user '${n}' already exists (PATCH /api/users/${encodeURIComponent(n)} changes it)`)
      const problem = newUserNameProblem(n, d.users.list().map((u) => u.name))
      if (problem) throw new HttpError(400, `name: ${problem}`)
      await d.users.set(n, pw, a)
      d.log.info(`${me(c)} added user ${n}${a ? ' (admin)' : ''} over HTTP`)
      return c.json({ name: n, admin: a }, 201)
    })
  })

  api.patch('/:name', async (c) => {
    const n = c.req.param('name')
    const { password: pw, admin: a } = await jsonBody(c, Change)
    if (pw === undefined && a === undefined) throw new HttpError(400, 'body: send password and/or admin')
    return serial(async () => {
      d.users.reload()
      if (!d.users.has(n)) throw new HttpError(404, `no user '${n}'`)
      if (a === false && n === c.get('who').user) throw new HttpError(400, 'admin: you cannot take your own admin role; ask another admin')
      if (pw !== undefined) await d.users.set(n, pw, a)
      else d.users.changeRole(n, a!)
      const what = [pw !== undefined ? 'password' : '', a !== undefined ? (a ? 'made admin' : 'admin role taken') : ''].filter(Boolean).join(', ')
      d.log.info(`${me(c)} changed user ${n} (${what}) over HTTP`)
      return c.json(d.users.list().find((u) => u.name === n) ?? { name: n, admin: d.users.isAdmin(n) })
    })
  })

  api.delete('/:name', (c) => {
    const n = c.req.param('name')
    if (n === c.get('who').user) throw new HttpError(400, 'name: you cannot delete yourself; ask another admin')
    return serial(async () => {
      if (!(await d.users.remove(n))) throw new HttpError(404, `no user '${n}'`)
      d.log.info(`${me(c)} removed user ${n} over HTTP`)
      return c.json({ name: n, removed: true })
    })
  })

  return api
}
