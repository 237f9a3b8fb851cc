import { existsSync, readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AccessControl, Identity } from '../access/access.js'
import { RulesError } from '../access/rules-file.js'
import type { HistoryStore } from '../store/types.js'
import type { Logger } from '../log.js'
import { hhmm } from '../alerts/local-time.js'
import { addAlert, addPlace, removeAlert, replacePlace, type AlertEntry, type PlaceEntry } from '../places/places-edit.js'
import { whyNotAlert, whyNotOwn, whyNotRemoveAlert, whyNotSend } from '../places/place-editing.js'
import type { Places } from '../places/places.js'
import type { AlertRule, Place } from '../places/types.js'
import { deviceTopic } from '../owntracks/topics.js'
import type { Env } from './auth.js'
import { jsonBody } from './body.js'
import { HttpError } from './errors.js'
import { serialQueue } from './serial.js'

export interface PlacesApiDeps {
  access: AccessControl
  places: Places
  history: HistoryStore
  log: Logger
  base: string
  /** Sends a person's places to their phones (setWaypoints); resolves with the devices reached. */
  sendToPhones: (user: string, by: string) => Promise<string[]>
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const lat = z.number().min(-90).max(90)
const lon = z.number().min(-180).max(180)
const PlaceBody = z.strictObject({
  name: z.string().min(1).max(64),
  owner: z.string().min(1).optional(),
  lat: lat.optional(), lon: lon.optional(), radius: z.union([z.number(), z.string()]).optional(),
  polygon: z.array(z.tuple([lat, lon])).min(3).max(200).optional(),
})
const names = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
const AlertBody = z.strictObject({
  about: z.string().min(1), to: names.optional(), places: z.array(z.string().min(1)).min(1).optional(),
  on: z.array(z.enum(['enter', 'leave'])).min(1).optional(), 'not-arrived-by': z.string().optional(),
  days: z.array(z.string()).min(1).optional(), quiet: z.string().optional(), webhook: names.optional(), push: z.boolean().optional(),
})

const where = (w: { file: string; line: number }) => ({ file: basename(w.file), line: w.line })

export function placeJson(p: Place) {
  return { id: p.id, name: p.name, owner: p.owner, people: p.people, ...p.shape, where: where(p.where) }
}

function alertJson(a: AlertRule) {
  return {
    id: a.id, about: a.about, to: a.to, places: a.places, on: a.on, 'not-arrived-by': a.notArrivedBy === null ? null : hhmm(a.notArrivedBy),
    days: a.days.map((d) => DAYS[d]), quiet: a.quiet ? `${hhmm(a.quiet.from)}-${hhmm(a.quiet.to)}` : null, webhooks: a.webhooks.length, push: a.push, where: where(a.where),
  }
}

/**
 * /api/places: the places and alerts a user is part of, edited over HTTP with the rules of shares:
 * an admin may do anything; anyone else keeps places of their own (owner: themselves), and alerts
 * about themselves or, to themselves, about someone whose devices they may see. Every write is
 * validated as the whole file would be, saved atomically (comments kept) and in force when answered.
 */
export function placesApi(d: PlacesApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  // Writes to acl/places.yml go one at a time, each from the file the one before left.
  const serial = serialQueue()

  const sees = (who: Identity, user: string) => who.user === user || d.access.isAdmin(who) || d.history.devices().some((x) => x.user === user && d.access.historyFrom(who, x.user, x.device) !== null)

  api.get('/', (c) => {
    const who = c.get('who')
    const admin = d.access.isAdmin(who)
    const me = who.user
    const r = d.places.current
    // A place's outline is exact: shown only to those who see one of the person's devices exactly or by place,
    // never to a viewer of blurred positions (the outline of "home" would undo the blur).
    const placeViewers = d.history.devices().filter((x) => {
      const topic = deviceTopic(x.user, x.device, '', d.base)
      if (!d.access.canRead(who, topic)) return false
      const p = d.access.viewSpec(who, topic).precision
      return p === null || p.kind === 'place'
    })
    const visibleUsers = new Set(placeViewers.map((x) => x.user))
    // Which place each of those devices is in. A blurred share gets no place names anywhere (view-fields.ts drops
    // inregions and desc), so not here either.
    const presence = placeViewers.flatMap((x) => {
      const at = d.places.tracker.current(x.user, x.device)
      return [{ user: x.user, device: x.device, place: at?.place.name ?? null, since: at?.since ?? d.places.tracker.awaySince(x.user, x.device) ?? null }]
    })
    return c.json({
      user: me, admin, timezone: r.timezone, margin: r.margin, dwell: r.dwell,
      // Their own places, and those of people whose devices they see (a presence view names the place anyway).
      places: r.places.filter((p) => admin || (me !== null && p.people.includes(me)) || p.people.some((u) => visibleUsers.has(u))).map((p) => ({ ...placeJson(p), mine: admin || (me !== null && p.owner === me) })),
      alerts: r.alerts.filter((a) => admin || a.about === me || (me !== null && a.to.includes(me))).map(alertJson),
      presence,
      error: admin ? d.places.lastError : undefined,
    })
  })

  const write = (c: Context<Env>, change: (text: string, who: Identity, admin: boolean) => string, done: string, status: 200 | 201 = 200) =>
    serial(async () => {
      if (d.places.lastError) throw new HttpError(409, `the places file has a mistake, fix it first: ${d.places.lastError}`)
      const who = c.get('who')
      const admin = d.access.isAdmin(who)
      const before = existsSync(d.places.file) ? readFileSync(d.places.file, 'utf8') : ''
      const text = change(before, who, admin)
      try { d.places.check(text) } catch (err) {
        if (err instanceof RulesError) throw new HttpError(400, err.reason)
        throw err
      }
      d.places.save(text)
      d.log.info(`${who.user ?? 'anonymous'} ${done} in ${d.places.file} over HTTP`)
      return c.json({ ok: true, places: d.places.current.places.length, alerts: d.places.current.alerts.length }, status)
    })

  const refuse = (why: string | null) => { if (why !== null) throw new HttpError(403, why) }
  const mayOwn = (who: Identity, admin: boolean, owner: string) => refuse(whyNotOwn(who, admin, owner))
  const entry = (b: z.infer<typeof PlaceBody>, owner: string): PlaceEntry => b.polygon
    ? { name: b.name, owner, polygon: b.polygon }
    : { name: b.name, owner, lat: b.lat, lon: b.lon, radius: typeof b.radius === 'number' ? `${Math.round(b.radius)}m` : b.radius }

  api.post('/', async (c) => {
    const b = await jsonBody(c, PlaceBody, 'the place as a JSON object')
    return write(c, (text, who, admin) => {
      const owner = b.owner ?? who.user ?? ''
      mayOwn(who, admin, owner)
      return addPlace(text, d.places.file, entry(b, owner))
    }, `added place '${b.name}'`, 201)
  })

  // Before the places' /:owner/:name, which would take DELETE /alerts/<id> for a place 'alerts/<id>'.
  api.delete('/alerts/:id', (c) => {
    const id = c.req.param('id')
    return write(c, (text, who, admin) => {
      const a = d.places.current.alerts.find((x) => x.id === id)
      if (!a) throw new HttpError(404, `no alert ${id}`)
      refuse(whyNotRemoveAlert(who, admin, a))
      const out = removeAlert(text, d.places.file, id)
      if (out === null) throw new HttpError(404, `no alert ${id}`)
      return out
    }, `removed alert ${id}`)
  })

  api.put('/:owner/:name', async (c) => {
    const { owner, name } = c.req.param()
    const b = await jsonBody(c, PlaceBody, 'the place as a JSON object')
    return write(c, (text, who, admin) => {
      mayOwn(who, admin, owner)
      if (b.owner !== undefined && b.owner !== owner) mayOwn(who, admin, b.owner)
      const out = replacePlace(text, d.places.file, owner, name, entry(b, b.owner ?? owner))
      if (out === null) throw new HttpError(404, `no place '${name}' of ${owner}`)
      return out
    }, `changed place ${owner}/${name}`)
  })

  api.delete('/:owner/:name', (c) => {
    const { owner, name } = c.req.param()
    return write(c, (text, who, admin) => {
      mayOwn(who, admin, owner)
      const out = replacePlace(text, d.places.file, owner, name, null)
      if (out === null) throw new HttpError(404, `no place '${name}' of ${owner}`)
      return out
    }, `removed place ${owner}/${name}`)
  })

  api.post('/alerts', async (c) => {
    const b = await jsonBody(c, AlertBody, 'the alert as a JSON object')
    return write(c, (text, who, admin) => {
      const to = b.to === undefined ? [] : Array.isArray(b.to) ? b.to : [b.to]
      refuse(whyNotAlert(who, admin, { about: b.about, to, webhook: b.webhook }, (user) => sees(who, user)))
      return addAlert(text, d.places.file, b as AlertEntry)
    }, `added an alert about ${b.about}`, 201)
  })

  /** A device's place transitions (the hub's and the phone's own) in a time range, as the viewer may see them. */
  api.get('/events', async (c) => {
    const who = c.get('who')
    const user = c.req.query('user')
    const device = c.req.query('device')
    if (!user || !device) throw new HttpError(400, "parameters 'user' and 'device' are required")
    const topic = deviceTopic(user, device, 'event', d.base)
    const historyFrom = d.access.historyFrom(who, user, device)
    if (historyFrom === null || !d.access.canRead(who, topic)) throw new HttpError(403, `you may not see the events of ${user}/${device}`)
    const now = Math.floor(Date.now() / 1000)
    const to = Number(c.req.query('to') ?? now)
    const asked = Number(c.req.query('from') ?? to - 86400)
    if (!Number.isFinite(asked) || !Number.isFinite(to)) throw new HttpError(400, "parameters 'from' and 'to' are epoch seconds")
    const from = Math.max(asked, historyFrom)
    const events: Record<string, unknown>[] = []
    if (from <= to) {
      for await (const m of d.history.records(user, device, 'transition', { from, to, limit: 1000 })) {
        const v = d.access.present(who, topic, m)
        if (v === null) continue
        events.push({ event: v.event, place: v.desc ?? null, tst: v.tst, by: v.hub === true ? 'hub' : 'phone', lat: v.lat, lon: v.lon })
      }
    }
    return c.json({ user, device, events })
  })

  /** Sends the places to the person's phones as regions (setWaypoints). */
  api.post('/send', async (c) => {
    const who = c.get('who')
    const user = c.req.query('user') ?? who.user
    if (!user) throw new HttpError(400, "parameter 'user' is required")
    refuse(whyNotSend(who, d.access.isAdmin(who), user))
    const devices = await d.sendToPhones(user, who.user ?? 'admin')
    return c.json({ user, devices, places: d.places.placesOf(user).map((p) => p.name) })
  })

  return api
}
