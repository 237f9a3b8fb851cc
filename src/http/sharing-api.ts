import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AccessControl, Identity } from '../access/access.js'
import { addShare, changeShare, removeShare, type ShareEntry } from '../access/rules-edit.js'
import { RulesError } from '../access/rules-file.js'
import { whyNotChange, whyNotCreate, whyNotHandOver } from '../access/share-editing.js'
import { formatDuration, isoMinute } from '../access/rules-values.js'
import { PARTS, type CommandGrant, type Share, type SharingRules, type Where } from '../access/types.js'
import type { Logger } from '../log.js'
import type { Env } from './auth.js'
import { jsonBody } from './body.js'
import { HttpError } from './errors.js'
import { serialQueue } from './serial.js'

export interface SharingApiDeps {
  access: AccessControl
  log: Logger
  /** Everyone who may sign in: to say which admins see every device. */
  users?: { list(): { name: string }[] }
}

const names = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
const limits = {
  devices: z.array(z.string().min(1)).min(1),
  include: z.array(z.enum(PARTS as [string, ...string[]])).min(1),
  precision: z.string(),
  history: z.union([z.boolean(), z.string()]),
  until: z.string(),
  for: z.string(),
}
/** A new share. Unknown keys are refused, so nobody slips in a field the file would read differently. */
const Create = z.strictObject({ from: z.string().min(1).optional(), to: names, ...partial(limits) })
/** A change: a key set to null removes that limit. */
const Change = z.strictObject({
  from: z.string().min(1).optional(),
  to: names.optional(),
  ...Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, v.nullable().optional()])) as { [K in keyof typeof limits]: z.ZodOptional<z.ZodNullable<(typeof limits)[K]>> },
})

function partial<T extends Record<string, z.ZodType>>(o: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> }
}

const where = (w: Where) => ({ file: basename(w.file), line: w.line })

function shareJson(s: Share, active: boolean) {
  return {
    id: s.id, from: s.from, to: s.to, devices: s.devices, include: s.include,
    precision: s.precision?.text ?? null,
    history: typeof s.history === 'number' ? formatDuration(s.history) : s.history,
    until: s.until === null ? null : isoMinute(s.until),
    active, where: where(s.where),
  }
}

const commandJson = (c: CommandGrant) => ({ from: c.from, to: c.to, devices: c.devices, where: where(c.where) })

/**
 * /api/sharing: the rules a user is part of, and shares created, changed and revoked over HTTP.
 * An admin may do anything; anyone else only shares their own devices and changes or revokes their
 * own shares. Every write is validated as the whole file would be, saved atomically (comments kept),
 * and in force when the answer arrives.
 */
export function sharingApi(d: SharingApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  const serial = serialQueue() // read the file, change it, validate, save, apply: one write at a time

  api.get('/', (c) => {
    const who = c.get('who')
    const admin = d.access.isAdmin(who)
    const t = d.access.table
    const me = who.user
    const mine = (s: Share) => admin || s.from === me || (me !== null && s.to.includes(me))
    const groups = [...(t.rules?.groups ?? [])].filter(([, g]) => admin || (me !== null && g.members.includes(me))).map(([name, g]) => {
      const s = [...t.active, ...t.ended].find((x) => x.group === name)!
      const { id: _id, from: _f, to: _t, devices: _d, ...view } = shareJson(s, t.active.includes(s))
      return { name, members: g.members, ...view }
    })
    return c.json({
      user: me,
      admin,
      admins: admin ? [...new Set([...t.admins.keys()])] : undefined,
      // Admins read every device: "who sees me" must name them, for everyone.
      seenByAdmins: (d.users?.list() ?? []).map((u) => u.name).filter((n) => n !== me && d.access.isAdmin({ user: n, admin: false, clientId: '' })).sort(),
      groups,
      shares: [...t.active.map((s) => [s, true] as const), ...t.ended.map((s) => [s, false] as const)]
        .filter(([s]) => !s.group && mine(s)).map(([s, a]) => shareJson(s, a)),
      commands: (t.rules?.commands ?? []).filter((x) => admin || x.to === me || (me !== null && x.from.includes(me))).map(commandJson),
      error: admin ? d.access.lastError : undefined,
    })
  })

  /** Reads the file, changes it, validates it as the whole file, saves it and applies it. */
  const write = (c: Context<Env>, change: (text: string, who: Identity, admin: boolean, rules: SharingRules | null) => { text: string; id: string }, status: 200 | 201 = 200) => {
    const run = async () => {
      if (d.access.lastError) throw new HttpError(409, `the rules on disk have a mistake, fix it first: ${d.access.lastError}`)
      const who = c.get('who')
      const admin = d.access.isAdmin(who)
      const file = d.access.rulesFile
      const before = existsSync(file) ? readFileSync(file, 'utf8') : ''
      const { text, id } = change(before, who, admin, d.access.table.rules)
      try {
        d.access.check(text)
      } catch (err) {
        if (err instanceof RulesError) throw new HttpError(400, err.reason)
        throw err
      }
      d.access.save(text)
      d.log.info(`${who.user ?? 'anonymous'} changed sharing rule ${id} in ${file} over HTTP`)
      const t = d.access.table
      const s = t.active.find((x) => x.id === id) ?? t.ended.find((x) => x.id === id)
      return c.json(s ? shareJson(s, t.active.includes(s)) : { id, removed: true }, status)
    }
    return serial(run)
  }

  const body = <T>(c: Context<Env>, schema: z.ZodType<T>) => jsonBody(c, schema, 'the share as a JSON object')

  /** The share a change is about, if the caller may change it. */
  const own = (id: string, who: Identity, admin: boolean, rules: SharingRules | null): Share => {
    const s = rules?.shares.find((x) => x.id === id && !x.group)
    if (!s) throw new HttpError(404, `no share with id '${id}' (it was changed or removed meanwhile; GET /api/sharing lists the current ones)`)
    const no = whyNotChange(who, admin, s)
    if (no) throw new HttpError(403, no)
    return s
  }

  api.post('/shares', async (c) => {
    const b = await body(c, Create)
    return write(c, (text, who, admin) => {
      const from = b.from ?? who.user
      const no = whyNotCreate(who, admin, from)
      if (no || from === null) throw new HttpError(403, no ?? 'anonymous clients cannot share')
      const id = randomBytes(4).toString('hex')
      const entry: ShareEntry = { id, from, ...b, ...(b.for !== undefined ? { created: isoMinute(Date.now() - (Date.now() % 1000)) } : {}) }
      return { text: addShare(text, d.access.rulesFile, entry), id }
    }, 201)
  })

  api.patch('/shares/:id', async (c) => {
    const b = await body(c, Change)
    const id = c.req.param('id')
    return write(c, (text, who, admin, rules) => {
      const s = own(id, who, admin, rules)
      const no = whyNotHandOver(admin, s, b.from)
      if (no) throw new HttpError(403, no)
      const patch: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(b)) patch[k] = v === null ? undefined : v
      if (b.for) { patch.created = isoMinute(Date.now() - (Date.now() % 1000)); patch.until = undefined }
      if (b.until) { patch.for = undefined; patch.created = undefined }
      const out = changeShare(text, d.access.rulesFile, id, patch)
      if (out === null) throw new HttpError(404, `no share with id '${id}' in the rules file`)
      return { text: out, id }
    })
  })

  api.delete('/shares/:id', (c) => {
    const id = c.req.param('id')
    return write(c, (text, who, admin, rules) => {
      own(id, who, admin, rules)
      const out = removeShare(text, d.access.rulesFile, id)
      if (out === null) throw new HttpError(404, `no share with id '${id}' in the rules file`)
      return { text: out, id }
    })
  })

  return api
}
