import { Hono, type Context } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { Logger } from '../log.js'
import { validateUserName, type UserRegistry } from '../users/registry.js'
import type { Env } from './auth.js'
import { requireAdmin } from './require-admin.js'

export interface UsersApiDeps {
  access: AccessControl
  users: UserRegistry
  log: Logger
}

class HttpError extends Error {
  constructor(readonly status: 400 | 403 | 404 | 409, message: string) { super(message) }
}

/** The JSON object of a request, or a 400 that says what to send. */
async function jsonBody(c: Context<Env>): Promise<Record<string, unknown>> {
  let raw: unknown
  try { raw = await c.req.json() } catch { throw new HttpError(400, 'send a JSON object (Content-Type: application/json)') }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HttpError(400, 'send a JSON object (Content-Type: application/json)')
  return raw as Record<string, unknown>
}

function name(v: unknown): string {
  if (typeof v !== 'string') throw new HttpError(400, 'name: a user name (string) is required')
  try { validateUserName(v) } catch (err) { throw new HttpError(400, `name: ${(err as Error).message}`) }
  return v
}

function password(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new HttpError(400, 'password: a non-empty password is required')
  return v
}

function admin(v: unknown): boolean | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') throw new HttpError(400, 'admin: must be true or false')
  return v
}

const KNOWN = new Set(['name', 'password', 'admin'])
function onlyKnown(b: Record<string, unknown>, allowed: string[]): void {
  const bad = Object.keys(b).find((k) => !allowed.includes(k) || !KNOWN.has(k))
  if (bad !== undefined) throw new HttpError(400, `${bad}: unknown field (send ${allowed.join(', ')})`)
}

/**
 * /api/users: admins list, add, change and remove the hub's users. The registry writes the Mosquitto
 * password file (and the admins file) atomically; the hub's watcher re-reads them within a second.
 * Passwords are never logged.
 */
export function usersApi(d: UsersApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  let writing: Promise<unknown> = Promise.resolve()

  api.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message, status: err.status }, err.status)
    throw err
  })

  api.use('*', requireAdmin(d.access, 'only an admin may manage users'))

  /** One change at a time, so two requests never write the password file from the same old copy. */
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const p = writing.then(run, run)
    writing = p.catch(() => {})
    return p
  }
  const me = (c: Context<Env>) => c.get('who').user ?? 'anonymous'

  api.get('/', (c) => c.json({ users: d.users.list() }))

  api.post('/', async (c) => {
    const b = await jsonBody(c)
    onlyKnown(b, ['name', 'password', 'admin'])
    const n = name(b.name)
    const pw = password(b.password)
    const a = admin(b.admin) ?? false
    return serial(async () => {
      d.users.reload()
      if (d.users.has(n)) throw new HttpError(409, `name: a user '${n}' already exists (PATCH /api/users/${encodeURIComponent(n)} changes it)`)
      await d.users.set(n, pw, a)
      d.log.info(`${me(c)} added user ${n}${a ? ' (admin)' : ''} over HTTP`)
      return c.json({ name: n, admin: a }, 201)
    })
  })

  api.patch('/:name', async (c) => {
    const n = c.req.param('name')
    const b = await jsonBody(c)
    onlyKnown(b, ['password', 'admin'])
    const pw = b.password === undefined ? undefined : password(b.password)
    const a = admin(b.admin)
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
