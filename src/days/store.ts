import type { Level } from 'level'
import type { Logger } from '../log.js'
import type { HistoryStore } from '../store/types.js'
import { computeDay, fixOf, type PlaceOf } from './day.js'
import { dayStart, knownZone, localDate, nextDate } from './local-time.js'
import type { Day, Fix } from './types.js'
import { townsReady } from '../geo/towns.js'

/*
 * Days of a device, kept in the history database beside the fixes they come from:
 *
 *   S \0 user \0 device \0 YYYY-MM-DD      {"summary": …, "visits": […], "trips": […]}
 *
 * A day is cut at midnight in the device's time zone (the zone of its newest fix); a stored day made
 * for another zone is made again. A location deletes the stored days it may belong to (its UTC date
 * and the dates either side: every zone is within a day of UTC) in the batch that stores it, and the
 * hour it fell into goes on a list: a little later the local date of that hour is made again in the
 * background. A date deleted only because it was beside the fix's is made again when it is read.
 * Days with no fixes are stored too, so a year reads as one scan. Everything here can be thrown away
 * and rebuilt from the fixes.
 *
 * The background only makes days that are over (an import, fixes a phone kept while offline, yesterday
 * once midnight has passed). Today is made when someone asks for it: made in advance it would be thrown
 * away by the phone's next fix, and making every moving device's whole day every few seconds grows with
 * the fixes of the day (thousands of phones: seconds of CPU each time, and a stall for everyone's MQTT).
 */
const SEP = '\x00'
const REFRESH_MS = 10_000
/** How often dates held back as today are looked at again, when no new fix does it sooner. */
const TODAY_MS = 15 * 60_000
/** The background refresh lets others have a turn after this long (ms), or this many devices. */
const SLICE_MS = 2
const SLICE_DEVICES = 256

/**
 * A device's hours (epoch s / 3600) that new fixes fell into: the days to make are the local dates they
 * span. `backlogAt`: when its last fix of an hour long past arrived (ms; 0: none).
 */
interface Dirty { user: string; device: string; hours: Set<number>; backlogAt: number }

function mark(m: Map<string, Dirty>, user: string, device: string, hour: number): Dirty {
  const k = user + SEP + device
  let e = m.get(k)
  if (!e) { e = { user, device, hours: new Set(), backlogAt: 0 }; m.set(k, e) }
  e.hours.add(hour)
  return e
}

/** A fix this much older than its arrival is part of a backlog (a phone back online, an import), not live. */
const BACKLOG_S = 3600

const key = (u: string, d: string, date: string) => `S${SEP}${u}${SEP}${d}${SEP}${date}`
const utcDate = (tst: number) => new Date(tst * 1000).toISOString().slice(0, 10)

export interface DaysOptions {
  history: HistoryStore
  db: Level<string, string>
  placeOf: PlaceOf
  log: Logger
  zoneOf: (lat: number, lon: number) => string | undefined
  /** Stores a day in order with the deletes new fixes make (LevelHistory.putDerived); else db.put. */
  put?: (key: string, value: string) => Promise<void>
  /** How long after a fix its past day is made again (ms); default 10 s. */
  refreshMs?: number
}

export class Days {
  private readonly dirty = new Map<string, Dirty>()
  /** Touched hours that were still today for their device when last looked at. */
  private readonly waiting = new Map<string, Dirty>()
  private timer?: NodeJS.Timeout
  private laterTimer?: NodeJS.Timeout
  private running?: Promise<void>
  private closed = false

  constructor(private readonly o: DaysOptions) {}

  /** The dates of the last UTC day a fix fell on: phones publish "now", so nearly every fix asks for the same three. */
  private staleDay = NaN
  private staleDates: string[] = []

  /** The keys a new fix makes stale; registered with LevelHistory.onLocation. */
  readonly stale = (user: string, device: string, tst: number): string[] => {
    const day = Math.floor(tst / 86_400)
    if (day !== this.staleDay) {
      const d = utcDate(tst)
      this.staleDates = [nextDate(d, -1), d, nextDate(d, 1)]
      this.staleDay = day
    }
    const dates = this.staleDates
    const e = mark(this.dirty, user, device, Math.floor(tst / 3600))
    const now = Date.now()
    if (tst < now / 1000 - BACKLOG_S) e.backlogAt = now
    if (!this.timer && !this.closed) { this.timer = setTimeout(() => this.refresh(), this.o.refreshMs ?? REFRESH_MS); this.timer.unref() }
    return dates.map((x) => key(user, device, x))
  }

  /** The device's zone: that of its newest fix, else UTC. */
  zone(user: string, device: string): string {
    const last = this.o.history.device(user, device)?.last
    const z = last && typeof last.lat === 'number' && typeof last.lon === 'number' ? this.o.zoneOf(last.lat, last.lon) : undefined
    return z && knownZone(z) ? z : 'UTC'
  }

  /** Today's date for the device. */
  today(user: string, device: string, now = Date.now() / 1000): string {
    return localDate(now, this.zone(user, device))
  }

  /** One day, from the store or made now (and stored). `since` leaves out fixes before it (a viewer's history window): such a day is made, not stored. */
  async day(user: string, device: string, date: string, since = 0): Promise<Day> {
    const tz = this.zone(user, device)
    const start = dayStart(date, tz)
    if (since > start) return this.make(user, device, date, tz, since)
    const stored = await this.o.db.get(key(user, device, date))
    if (stored !== undefined) {
      const d = JSON.parse(stored) as Day
      if (d.summary.tz === tz) return d
    }
    const d = await this.make(user, device, date, tz, start)
    const k = key(user, device, date)
    await (this.o.put ? this.o.put(k, JSON.stringify(d)) : this.o.db.put(k, JSON.stringify(d)))
    return d
  }

  /** The days from `from` to `to` (YYYY-MM-DD, inclusive), in order; dates before the device's first month are skipped. */
  async range(user: string, device: string, from: string, to: string, since = 0): Promise<Day[]> {
    const months = this.o.history.device(user, device)?.months ?? []
    if (months.length === 0) return []
    if (from < months[0] + '-01') from = nextDate(months[0] + '-01', -1) // the zone may start the first day a day earlier
    const today = this.today(user, device)
    if (to > today) to = today
    const stored = new Map<string, string>()
    for await (const [k, v] of this.o.db.iterator({ gte: key(user, device, from), lte: key(user, device, to) })) stored.set(k.slice(k.lastIndexOf(SEP) + 1), v)
    const tz = this.zone(user, device)
    const out: Day[] = []
    for (let date = from; date <= to; date = nextDate(date)) {
      const v = stored.get(date)
      const d = v === undefined ? undefined : JSON.parse(v) as Day
      if (d && d.summary.tz === tz && !(since > dayStart(date, tz))) out.push(d)
      else out.push(await this.day(user, device, date, since))
    }
    return out
  }

  private async make(user: string, device: string, date: string, tz: string, since: number): Promise<Day> {
    await townsReady() // a stored day keeps its towns: never make one before they are known
    const start = dayStart(date, tz)
    const end = dayStart(nextDate(date), tz) - 1
    const fixes: Fix[] = []
    for await (const loc of this.o.history.locations(user, device, { from: Math.max(start, since), to: end })) {
      const f = fixOf(loc)
      if (f) fixes.push(f)
    }
    return computeDay(date, tz, fixes, this.o.placeOf)
  }

  /**
   * Makes the past days that new fixes touched again, so readers find them ready; today's wait until they
   * are past. A device whose backlog is still arriving waits until it pauses: a phone uploading a week it
   * kept offline, or an import over MQTT, would otherwise have the same days read and made again at every
   * refresh until it is done (and a day asked for meanwhile is made when it is read).
   */
  private refresh(): void {
    this.timer = undefined
    if (this.running || this.closed) return
    const quiet = (this.o.refreshMs ?? REFRESH_MS) / 2
    const work = [...this.waiting.values()]
    this.waiting.clear()
    for (const [k, e] of this.dirty) {
      if (Date.now() - e.backlogAt < quiet) continue
      work.push(e)
      this.dirty.delete(k)
    }
    this.running = (async () => {
      let slice = performance.now()
      // Today in each zone, as a span of epoch s: most hours fall in it, told without formatting a date.
      const todays = new Map<string, { date: string; from: number; to: number }>()
      const now = Date.now() / 1000
      let looked = 0
      for (const { user, device, hours } of work) {
        // A slice at a time: every phone publishing today puts its device here, and looking at
        // 2,000 of them in one go held everyone's MQTT up for 70 ms every REFRESH_MS.
        if (++looked % SLICE_DEVICES === 0 || performance.now() - slice > SLICE_MS) {
          await new Promise((r) => setImmediate(r))
          if (this.closed) return
          slice = performance.now()
        }
        const tz = this.zone(user, device)
        let today = todays.get(tz)
        if (!today) {
          const date = localDate(now, tz)
          today = { date, from: dayStart(date, tz), to: dayStart(nextDate(date), tz) }
          todays.set(tz, today)
        }
        const dates = new Map<string, number>()
        // an hour lies in one local date, or in two where the zone is not a whole hour off UTC
        for (const h of hours) {
          for (const t of [h * 3600, h * 3600 + 3599]) dates.set(t >= today.from && t < today.to ? today.date : localDate(t, tz), h)
        }
        for (const [date, h] of dates) {
          if (this.closed) return
          if (date < today.date) await this.day(user, device, date)
          else if (date === today.date) mark(this.waiting, user, device, h)
        }
      }
    })().catch((err: Error) => this.o.log.error(`Making day summaries failed: ${err.message} (they are made again when asked for)`))
      .finally(() => {
        this.running = undefined
        // backlogs still arriving, and fixes that came during this refresh
        if (this.dirty.size > 0 && !this.timer && !this.closed) { this.timer = setTimeout(() => this.refresh(), this.o.refreshMs ?? REFRESH_MS); this.timer.unref() }
        if (this.waiting.size > 0 && !this.laterTimer && !this.closed) {
          this.laterTimer = setTimeout(() => { this.laterTimer = undefined; this.refresh() }, TODAY_MS)
          this.laterTimer.unref()
        }
      })
  }

  /** Throws every stored day away and makes them all again from the fixes; returns how many days. */
  async rebuild(): Promise<number> {
    await this.o.db.clear({ gt: `S${SEP}`, lt: `S\xff` })
    let n = 0
    for (const dev of this.o.history.devices()) {
      if (dev.months.length === 0) continue
      const days = await this.range(dev.user, dev.device, dev.months[0] + '-01', '9999-12-31')
      n += days.length
    }
    this.o.log.info(`Rebuilt ${n} day summaries from the history`)
    return n
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    clearTimeout(this.laterTimer)
    await this.running
  }
}
