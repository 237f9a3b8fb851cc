import { randomUUID } from 'node:crypto'
import type { Logger } from '../log.js'
import { parseTime } from '../owntracks/time.js'
import type { HistoryStore } from '../store/types.js'
import type { TourStore, Tour } from './store.js'

/** A request that cannot become a tour; the message says which field and what would do. */
export class TourError extends Error {}

export interface TourSpec { label?: unknown; from?: unknown; to?: unknown }

/** What phones and the API are told about a tour: the booklet's fields plus the device. */
export interface TourInfo { label: string; from: string; to: string; uuid: string; url: string; device: string }

/** What the public page of a tour may show: nothing outside [from, to]. */
export interface TourView {
  label: string
  from: string
  to: string
  fromTst: number
  toTst: number
  /** [lat, lon, tst] ascending, only inside the window. */
  points: [number, number, number][]
  /** The device's newest position, only while it lies inside the window. */
  last: { lat: number; lon: number; tst: number; acc?: number } | null
}

const MAX_PER_USER = 1000
const MAX_LABEL = 200
/** A public page never carries more than this many points (a year of 5-minute fixes). */
const MAX_POINTS = 200_000

/**
 * Tours: time-limited public views of one device, requested by the apps over MQTT or HTTP mode
 * (booklet features/tours.md) or from the map. `handleRequest` answers the apps' `request` messages;
 * the MQTT side publishes its answer on `.../cmd`, HTTP mode (POST /pub) returns it in the reply array.
 */
export class Tours {
  constructor(
    private readonly store: TourStore,
    private readonly history: HistoryStore,
    /** The hub's public address (publicUrl, else http://<host>:<port>), for tour links. */
    private readonly publicBase: () => string,
    private readonly log: Logger,
  ) {}

  url(uuid: string, base = this.publicBase()): string { return `${base}/view/${uuid}` }

  info(t: Tour, base?: string): TourInfo {
    return { label: t.label, from: t.from, to: t.to, uuid: t.uuid, url: this.url(t.uuid, base), device: t.device }
  }

  get(uuid: string): Tour | undefined { return this.store.get(uuid) }
  list(user: string, device?: string): Tour[] { return this.store.list(user, device) }

  async create(user: string, device: string, spec: TourSpec): Promise<Tour> {
    const { label = '', from, to } = spec
    if (typeof label !== 'string' || label.length > MAX_LABEL) throw new TourError(`tour.label must be text of at most ${MAX_LABEL} characters`)
    const fromTst = when('from', from, false)
    const toTst = when('to', to, true)
    if (fromTst > toTst) throw new TourError(`tour.from (${from}) is after tour.to (${to})`)
    if (this.store.count(user) >= MAX_PER_USER) throw new TourError(`'${user}' has ${MAX_PER_USER} tours already; delete some first`)
    const t: Tour = { uuid: randomUUID(), user, device, label, from: String(from), to: String(to), fromTst, toTst, created: Math.floor(Date.now() / 1000) }
    await this.store.add(t)
    this.log.info(`Tour ${t.uuid} created for ${user}/${device}: '${label}' from ${t.from} to ${t.to}.`)
    return t
  }

  /** Deletes a tour of `user` (of `device` when given); false when there is no such tour of theirs. */
  async remove(user: string, uuid: string, device?: string): Promise<boolean> {
    const t = this.store.get(uuid)
    if (!t || t.user !== user || (device !== undefined && t.device !== device)) return false
    await this.store.delete(uuid)
    this.log.info(`Tour ${uuid} of ${user}/${t.device} deleted.`)
    return true
  }

  /**
   * Answers an app's `{"_type":"request", …}` from `<user>/<device>`: `tour` creates one and answers with
   * its uuid and url (status 400 and an `error` when the request is unusable), `tours` lists that device's
   * tours, `untour` deletes one of them. Returns the `cmd` to send back, or null when there is none
   * (untour, as in the Recorder, and requests the hub does not know).
   */
  async handleRequest(user: string, device: string, message: Record<string, unknown>): Promise<Record<string, unknown> | null> {
    const kind = message.request
    if (kind === 'tour') {
      const spec = message.tour
      try {
        if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new TourError("a tour request needs a 'tour' object with label, from and to")
        const t = await this.create(user, device, spec)
        return { _type: 'cmd', action: 'response', request: 'tour', status: 200, tour: { ...spec, uuid: t.uuid, url: this.url(t.uuid) } }
      } catch (err) {
        if (!(err instanceof TourError)) throw err
        this.log.warn(`Tour request from ${user}/${device} refused: ${err.message}`)
        return { _type: 'cmd', action: 'response', request: 'tour', status: 400, error: err.message }
      }
    }
    if (kind === 'tours') {
      const tours = this.list(user, device).map((t) => this.info(t))
      return { _type: 'cmd', action: 'response', request: 'tours', tours, ntours: tours.length }
    }
    if (kind === 'untour') {
      const uuid = message.uuid
      if (typeof uuid !== 'string' || !(await this.remove(user, uuid, device))) {
        this.log.warn(`Untour from ${user}/${device} ignored: no tour ${JSON.stringify(uuid)} of that device.`)
      }
      return null
    }
    this.log.warn(`Request '${String(kind).slice(0, 32)}' from ${user}/${device} ignored: the hub answers tour, tours and untour.`)
    return null
  }

  /** The public page's data, or undefined when the tour does not exist (deleted). */
  async view(uuid: string): Promise<TourView | undefined> {
    const t = this.store.get(uuid)
    if (!t) return undefined
    const points: [number, number, number][] = []
    for await (const l of this.history.locations(t.user, t.device, { from: t.fromTst, to: t.toTst })) {
      if (typeof l.lat === 'number' && typeof l.lon === 'number' && typeof l.tst === 'number') points.push([l.lat, l.lon, l.tst])
      if (points.length >= MAX_POINTS) break
    }
    const last = this.history.device(t.user, t.device)?.last
    const inside = last && typeof last.tst === 'number' && last.tst >= t.fromTst && last.tst <= t.toTst
    return {
      label: t.label, from: t.from, to: t.to, fromTst: t.fromTst, toTst: t.toTst, points,
      last: inside ? { lat: last.lat as number, lon: last.lon as number, tst: last.tst as number, ...(typeof last.acc === 'number' ? { acc: last.acc } : {}) } : null,
    }
  }
}

function when(name: 'from' | 'to', raw: unknown, end: boolean): number {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw
  if (typeof raw !== 'string' || raw === '') throw new TourError(`tour.${name} is missing; give a UTC time such as 2022-08-01T05:35:58`)
  try {
    return parseTime(`tour.${name}`, raw, end)
  } catch (err) {
    throw new TourError((err as Error).message.replace(/^parameter /, ''))
  }
}
