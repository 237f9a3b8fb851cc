import * as crypto from 'node:crypto'
import { Level, type ValueIterator } from 'level'
import { GroupCommit } from './group-commit.js'
import type { DeviceSummary, HistoryRecord, HistoryStore, PruneCounts, RangeQuery, WriteCounts } from './types.js'

/*
 * Key layout (the schema: the data outlives the program). Parts are joined with \x00, which MQTT
 * forbids in topics, so no user or device name can forge a boundary. Values are JSON (utf8), exactly as
 * JSON.stringify writes the message: readers splice a location's text into what they serve (point-text.ts).
 *
 *   L \0 user \0 device \0 tst(11 digits) \0 h8      a location, as published after normalisation
 *   R \0 user \0 device \0 type \0 tst \0 h8         every other kept message (transition, waypoint(s),
 *                                                    card, lwt, status, steps, beacon, encrypted: KEPT in
 *                                                    kept.ts; cmd, request and configuration are not kept)
 *   D \0 user \0 device                              device summary: newest location, its topic, card, months
 *   S \0 user \0 device \0 YYYY-MM-DD                 a day's visits, trips and summary (days/store.ts; derived)
 *   G \0 ghash7                                      a geocoder's answer for a 150 m cell (geo/geocoder.ts)
 *
 * h8 is the first 8 hex digits of SHA-1 over the payload. A QoS 1 redelivery hashes the same, lands on the
 * same key and is stored once; two different messages with the same tst both survive. Zero-padded tst
 * makes a range read one ordered scan, so an offline backlog that arrives late still reads in tst order.
 * A message without a `tst` (a card) is keyed by when it was received (HistoryRecord.at, else now).
 */
const SEP = '\x00'
const END = '\xff'

const pad = (tst: number) => String(Math.max(0, Math.floor(tst))).padStart(11, '0')
/** Node's one-shot hash where it has it (20.12 and later): a third of the cost of a Hash object per message. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string) => string }).hash
const h8 = oneShot ? (json: string) => oneShot('sha1', json).slice(0, 8) : (json: string) => crypto.createHash('sha1').update(json).digest('hex').slice(0, 8)
/**
 * One part of a key. Names are checked at the hub's edges (owntracks/names.ts); this is the schema's
 * own guard: a value holding the separator would reach into the next part (a device
 * `phone\0<tst>` would move a range read's bounds into the tst), so it is refused, never joined.
 */
function part(v: string): string {
  if (v.includes(SEP)) throw new KeyPartError(`a user, device or type name holding NUL cannot be part of a history key`)
  return v
}
export class KeyPartError extends Error {}

const devKey = (u: string, d: string) => `D${SEP}${part(u)}${SEP}${part(d)}`
const locPrefix = (u: string, d: string) => `L${SEP}${part(u)}${SEP}${part(d)}${SEP}`
const recPrefix = (u: string, d: string, t: string) => `R${SEP}${part(u)}${SEP}${part(d)}${SEP}${part(t)}${SEP}`
/** YYYY-MM of `tst`, remembered for the last UTC day asked: locations arrive "now", so nearly all share it. */
let monthDay = NaN
let monthOfDay = ''
function month(tst: number): string {
  const day = Math.floor(tst / 86_400)
  if (day !== monthDay) { monthOfDay = new Date(tst * 1000).toISOString().slice(0, 7); monthDay = day }
  return monthOfDay
}

interface DeviceState {
  user: string
  device: string
  /** Its summary's key (devKey). */
  key: string
  last?: Record<string, unknown>
  lastTopic?: string
  lastTst: number
  card?: Record<string, unknown>
  months: Set<string>
  /** JSON of `last`, `card` and the sorted months as last written: the summary is put together from them, not serialised again. */
  lastJson?: string
  cardJson?: string
  monthsJson?: string
}

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string }
/** A device's summary as it stands when its batch is written (summaryJson then, once per batch). */
type Staged = Op | { type: 'summary'; key: string; st: DeviceState }

export interface LevelHistoryOptions {
  /** fsync each batch: survives power loss, not only a crash of the process. */
  sync?: boolean
}

export class LevelHistory implements HistoryStore {
  private readonly db: Level<string, string>
  private readonly devs = new Map<string, DeviceState>()
  /** Devices per user, for max-devices-per-user without a scan. */
  private readonly perUser = new Map<string, number>()
  private readonly sync: boolean
  /** History and summary writes of a burst go to LevelDB in one batch. */
  private readonly batches = new GroupCommit<Staged>((staged) => this.db.batch(staged.map(written), { sync: this.sync }).catch((err: Error) => {
    this.gone.clear() // the deletes of a failed batch did not happen
    throw err
  }))
  /**
   * Derived keys whose newest write in the queue is a delete: absent once that batch commits, and until a
   * put is queued (putDerived). Batches commit one at a time, in order, so a location whose day is already
   * deleted need not delete it again: at a steady rate that was three of a location's five writes.
   */
  private readonly gone = new Set<string>()
  private readonly derived: ((user: string, device: string, tst: number) => string[])[] = []

  private constructor(db: Level<string, string>, opts: LevelHistoryOptions) {
    this.db = db
    this.sync = opts.sync ?? false
  }

  static async open(dir: string, opts: LevelHistoryOptions = {}): Promise<LevelHistory> {
    const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await db.open()
    const h = new LevelHistory(db, opts)
    // Device summaries are few (one per phone) and read on every /last and HTTP-mode answer: keep them in memory.
    for await (const [key, value] of db.iterator({ gt: `D${SEP}`, lt: `D${END}` })) {
      const [, user, device] = key.split(SEP)
      const s = JSON.parse(value) as { last?: Record<string, unknown>; lastTopic?: string; card?: Record<string, unknown>; months?: string[] }
      h.counted(user, 1)
      h.devs.set(key, {
        user, device, key, last: s.last, lastTopic: s.lastTopic, card: s.card,
        lastTst: typeof s.last?.tst === 'number' ? s.last.tst : -1,
        months: new Set(s.months ?? []),
      })
    }
    return h
  }

  write(records: HistoryRecord[]): Promise<void> {
    this.stage(records.map(plan))
    return this.batches.wait()
  }

  /**
   * Looks the keys up first and writes only the records not stored yet, so an import can say how
   * many were new; writing the others again would change nothing (same key, same value).
   */
  async writeNew(records: HistoryRecord[]): Promise<WriteCounts> {
    const planned = records.map(plan)
    const found = await this.db.getMany(planned.map((p) => p.key))
    const seen = new Set<string>()
    const fresh = planned.filter((p, i) => {
      if (found[i] !== undefined || seen.has(p.key)) return false
      seen.add(p.key)
      return true
    })
    if (fresh.length > 0) {
      this.stage(fresh)
      await this.batches.wait()
    }
    return { added: fresh.length, present: planned.length - fresh.length }
  }

  /**
   * Data derived from locations (day summaries) registers here: `stale` names the keys a new location
   * makes out of date, and they are deleted in the same batch that stores it (or an earlier one, with no
   * put queued since), so no crash can leave a summary that misses an acknowledged fix. Derived data is
   * written with putDerived, in the same queue, for that order to hold.
   */
  onLocation(stale: (user: string, device: string, tst: number) => string[]): void {
    this.derived.push(stale)
  }

  /** Writes a derived key (a day summary) in order with the history's batches and the deletes they carry. */
  putDerived(key: string, value: string): Promise<void> {
    this.gone.delete(key)
    this.batches.stage({ type: 'put', key, value })
    return this.batches.wait()
  }

  /**
   * Queues the puts of planned records, the device summaries they change and the deletes of what they make
   * stale. Nothing is gathered per call: a summary is staged once per batch (stageSummary), and a stale key
   * once until it is written again (`gone`).
   */
  private stage(planned: Planned[]): void {
    // A bound on what is remembered: forgetting only costs deletes that were not needed.
    if (this.gone.size > 100_000) this.gone.clear()
    for (const { r, key, json, tst } of planned) {
      const st = this.state(r.user, r.device)
      this.batches.stage({ type: 'put', key, value: json })
      if (r.message._type === 'location') {
        let changed = false
        const m = month(tst)
        if (!st.months.has(m)) { st.months.add(m); st.monthsJson = undefined; changed = true }
        if (tst >= st.lastTst) {
          st.last = r.message; st.lastJson = json; st.lastTst = tst; st.lastTopic = r.topic; changed = true
        }
        if (changed) this.stageSummary(st)
        for (const stale of this.derived) {
          for (const k of stale(r.user, r.device, tst)) {
            if (this.gone.has(k)) continue
            this.gone.add(k)
            this.batches.stage({ type: 'del', key: k })
          }
        }
      } else if (r.message._type === 'card' && r.topic.endsWith('/info')) {
        // The device's card is what its `…/info` topic holds: shares show a card by that topic.
        st.card = r.message; st.cardJson = json
        this.stageSummary(st)
      }
    }
  }

  private stageSummary(st: DeviceState): void {
    this.batches.stageLatest(st.key, { type: 'summary', key: st.key, st })
  }

  private state(user: string, device: string): DeviceState {
    const k = devKey(user, device)
    let st = this.devs.get(k)
    if (!st) { st = { user, device, key: k, lastTst: -1, months: new Set() }; this.devs.set(k, st); this.counted(user, 1) }
    return st
  }

  async *locations(user: string, device: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    yield* this.scan(locPrefix(user, device), q)
  }

  /**
   * The same locations as the JSON text they were stored as (JSON.stringify of the message, see plan()),
   * a batch at a time: a reader that serves a location as stored splices that text instead of parsing
   * and serialising it again, and pays one promise per batch, not per point.
   */
  locationTexts(user: string, device: string, q: RangeQuery): AsyncIterable<string[]> {
    return this.texts(locPrefix(user, device), q)
  }

  async *records(user: string, device: string, type: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    yield* this.scan(recPrefix(user, device, type), q)
  }

  private async *scan(prefix: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    for await (const batch of this.texts(prefix, q)) {
      for (const v of batch) yield JSON.parse(v) as Record<string, unknown>
    }
  }

  private async *texts(prefix: string, q: RangeQuery): AsyncIterable<string[]> {
    const range = { gte: prefix + pad(q.from), lt: prefix + pad(Math.floor(q.to) + 1) }
    if (q.limit !== undefined) {
      // Newest N without holding them: walk N keys back to find where they start, then read forward.
      let start: string | undefined
      for await (const k of this.db.keys({ ...range, reverse: true, limit: q.limit })) start = k
      if (start === undefined) return
      yield* readAhead(this.db.values({ gte: start, lt: range.lt, limit: q.limit, highWaterMarkBytes: BATCH_BYTES }))
      return
    }
    yield* readAhead(this.db.values({ ...range, highWaterMarkBytes: BATCH_BYTES }))
  }

  /**
   * Retention: deletes locations and other records with a tst before `before`. Each device keeps its
   * summary (newest location, card), so the map still shows where it was last seen, and its list of
   * months loses the months that are now empty.
   */
  async prune(before: number): Promise<PruneCounts> {
    const counts = { locations: 0, records: 0 }
    const cut = pad(before)
    const drop = async (keys: AsyncIterable<string>, keep: (k: string) => boolean, count: 'locations' | 'records') => {
      let ops: Op[] = []
      for await (const key of keys) {
        if (keep(key)) continue
        ops.push({ type: 'del', key })
        counts[count]++
        if (ops.length >= 10_000) { await this.db.batch(ops); ops = [] }
      }
      if (ops.length) await this.db.batch(ops)
    }
    for (const st of this.devs.values()) {
      const prefix = locPrefix(st.user, st.device)
      await drop(this.db.keys({ gte: prefix, lt: prefix + cut }), () => false, 'locations')
    }
    // Records are few next to locations, and a device may have records but no summary: scan them all.
    await drop(this.db.keys({ gt: `R${SEP}`, lt: `R${END}` }), (k) => k.split(SEP)[4] >= cut, 'records')
    const firstMonth = month(before)
    let changed = false
    for (const st of this.devs.values()) {
      const old = [...st.months].filter((m) => m < firstMonth)
      if (old.length === 0) continue
      for (const m of old) st.months.delete(m)
      st.monthsJson = undefined
      this.stageSummary(st) // through the queue, so it commits after any summary staged earlier
      changed = true
    }
    if (changed) await this.batches.wait()
    return counts
  }

  devices(): DeviceSummary[] {
    return [...this.devs.values()].map(summary)
  }

  deviceCount(user: string): number { return this.perUser.get(user) ?? 0 }

  private counted(user: string, by: number): void {
    const n = (this.perUser.get(user) ?? 0) + by
    if (n > 0) this.perUser.set(user, n)
    else this.perUser.delete(user)
  }

  device(user: string, device: string): DeviceSummary | undefined {
    const st = this.devs.get(devKey(user, device))
    return st && summary(st)
  }

  async deleteDevice(user: string, device: string): Promise<number> {
    let count = 0
    // S: the day summaries derived from the locations (days/store.ts) go with them.
    for (const prefix of [locPrefix(user, device), `R${SEP}${part(user)}${SEP}${part(device)}${SEP}`, `S${SEP}${part(user)}${SEP}${part(device)}${SEP}`]) {
      const keys: string[] = []
      for await (const k of this.db.keys({ gt: prefix, lt: prefix + END })) {
        keys.push(k)
        if (prefix.startsWith('L')) count++
        if (keys.length >= 10_000) { await this.db.batch(keys.splice(0).map((key) => ({ type: 'del' as const, key }))) }
      }
      await this.db.batch(keys.map((key) => ({ type: 'del' as const, key })))
    }
    await this.db.del(devKey(user, device))
    if (this.devs.delete(devKey(user, device))) this.counted(user, -1)
    return count
  }

  /** The database itself, for backups and the write guard (store/write-guard.ts). */
  get level(): Level<string, string> { return this.db }

  async close(): Promise<void> {
    await this.batches.idle()
    await this.db.close()
  }
}

/*
 * A year is half a million values: they are read BATCH at a time. classic-level stops a batch once it
 * holds highWaterMarkBytes (16 kB unless told), about a hundred locations, so the bound is raised to let
 * a batch be BATCH values (a location is ~150 bytes; 1 MB bounds what one batch of odd large ones holds).
 */
const BATCH = 1000
const BATCH_BYTES = 1024 * 1024

/**
 * The iterator's values in batches, the next one read (on libuv's thread) while the caller works on this
 * one. Closes the iterator when the caller stops early (a client went away) or reaches the end.
 */
async function* readAhead(it: ValueIterator<Level<string, string>, string, string>): AsyncIterable<string[]> {
  let next: Promise<string[]> | undefined = it.nextv(BATCH)
  try {
    for (;;) {
      const batch = await next
      next = undefined
      if (batch.length === 0) return
      next = it.nextv(BATCH)
      yield batch
    }
  } finally {
    // Left early with a read in flight: it must settle before the iterator closes. Its values, or its
    // failure, are nobody's any more: the caller has gone.
    if (next) await next.catch(() => undefined)
    await it.close()
  }
}

interface Planned { r: HistoryRecord; key: string; json: string; tst: number }

function plan(r: HistoryRecord): Planned {
  const json = JSON.stringify(r.message)
  const tst = typeof r.message.tst === 'number' ? r.message.tst : r.at ?? Math.floor(Date.now() / 1000)
  const prefix = r.message._type === 'location' ? locPrefix(r.user, r.device) : recPrefix(r.user, r.device, r.message._type)
  return { r, key: prefix + pad(tst) + SEP + h8(json), json, tst }
}

/**
 * What LevelDB is handed for a staged write. A summary is serialised when its batch is cut: every change
 * to a device's state is staged together with the write that made it, so the summary then holds what this
 * batch and the earlier ones store, and nothing that a later batch will.
 */
function written(s: Staged): Op {
  return s.type === 'summary' ? { type: 'put', key: s.key, value: summaryJson(s.st) } : s
}

/**
 * The stored summary, byte for byte what JSON.stringify({ last, lastTopic, card, months }) makes, from the
 * JSON the newest location and the card were stored as: a location costs one serialisation, not two.
 */
function summaryJson(st: DeviceState): string {
  const parts: string[] = []
  if (st.last !== undefined) parts.push(`"last":${st.lastJson ??= JSON.stringify(st.last)}`)
  if (st.lastTopic !== undefined) parts.push(`"lastTopic":${JSON.stringify(st.lastTopic)}`)
  if (st.card !== undefined) parts.push(`"card":${st.cardJson ??= JSON.stringify(st.card)}`)
  parts.push(`"months":${st.monthsJson ??= JSON.stringify([...st.months].sort())}`)
  return `{${parts.join(',')}}`
}

function summary(st: DeviceState): DeviceSummary {
  return { user: st.user, device: st.device, last: st.last, lastTopic: st.lastTopic, card: st.card, months: [...st.months].sort() }
}
