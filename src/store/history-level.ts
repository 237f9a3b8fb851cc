import { createHash } from 'node:crypto'
import { Level } from 'level'
import type { DeviceSummary, HistoryRecord, HistoryStore, RangeQuery } from './types.js'

/*
 * Key layout (the schema: the data outlives the program). Parts are joined with \x00, which MQTT
 * forbids in topics, so no user or device name can forge a boundary. Values are JSON (utf8).
 *
 *   L \0 user \0 device \0 tst(11 digits) \0 h8      a location, as published after normalisation
 *   R \0 user \0 device \0 type \0 tst \0 h8         every other kept message (transition, waypoint(s),
 *                                                    card, lwt, status, steps, beacon, request, encrypted…)
 *   D \0 user \0 device                              device summary: newest location, its topic, card, months
 *
 * h8 is the first 8 hex digits of SHA-1 over the payload. A QoS 1 redelivery hashes the same, lands on the
 * same key and is stored once; two different messages with the same tst both survive. Zero-padded tst
 * makes a range read one ordered scan, so an offline backlog that arrives late still reads in tst order.
 */
const SEP = '\x00'
const END = '\xff'

const pad = (tst: number) => String(Math.max(0, Math.floor(tst))).padStart(11, '0')
const h8 = (json: string) => createHash('sha1').update(json).digest('hex').slice(0, 8)
const devKey = (u: string, d: string) => `D${SEP}${u}${SEP}${d}`
const locPrefix = (u: string, d: string) => `L${SEP}${u}${SEP}${d}${SEP}`
const recPrefix = (u: string, d: string, t: string) => `R${SEP}${u}${SEP}${d}${SEP}${t}${SEP}`
const month = (tst: number) => new Date(tst * 1000).toISOString().slice(0, 7)

interface DeviceState {
  user: string
  device: string
  last?: Record<string, unknown>
  lastTopic?: string
  lastTst: number
  card?: Record<string, unknown>
  months: Set<string>
}

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string }

export interface LevelHistoryOptions {
  /** fsync each batch: survives power loss, not only a crash of the process. */
  sync?: boolean
}

export class LevelHistory implements HistoryStore {
  private readonly db: Level<string, string>
  private readonly devs = new Map<string, DeviceState>()
  private queue: { ops: Op[]; waiters: { resolve: () => void; reject: (e: Error) => void }[] } = { ops: [], waiters: [] }
  private flushing = false
  private readonly sync: boolean

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
      h.devs.set(devKey(user, device), {
        user, device, last: s.last, lastTopic: s.lastTopic, card: s.card,
        lastTst: typeof s.last?.tst === 'number' ? s.last.tst : -1,
        months: new Set(s.months ?? []),
      })
    }
    return h
  }

  write(records: HistoryRecord[]): Promise<void> {
    const touched = new Set<DeviceState>()
    for (const r of records) {
      const json = JSON.stringify(r.message)
      const tst = typeof r.message.tst === 'number' ? r.message.tst : Math.floor(Date.now() / 1000)
      const st = this.state(r.user, r.device)
      if (r.message._type === 'location') {
        this.queue.ops.push({ type: 'put', key: locPrefix(r.user, r.device) + pad(tst) + SEP + h8(json), value: json })
        const m = month(tst)
        if (!st.months.has(m)) { st.months.add(m); touched.add(st) }
        if (tst >= st.lastTst) {
          st.last = r.message; st.lastTst = tst; st.lastTopic = r.topic; touched.add(st)
        }
      } else {
        this.queue.ops.push({ type: 'put', key: recPrefix(r.user, r.device, r.message._type) + pad(tst) + SEP + h8(json), value: json })
        if (r.message._type === 'card') { st.card = r.message; touched.add(st) }
      }
    }
    for (const st of touched) {
      this.queue.ops.push({ type: 'put', key: devKey(st.user, st.device), value: JSON.stringify({ last: st.last, lastTopic: st.lastTopic, card: st.card, months: [...st.months].sort() }) })
    }
    return this.enqueue()
  }

  /**
   * Group commit: writes that arrive while a batch is on disk wait and go together in the next batch,
   * so a burst of publishes costs a few LevelDB batches, not one each. Batches commit in order.
   */
  private enqueue(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.queue.waiters.push({ resolve, reject }))
    if (!this.flushing) { this.flushing = true; setImmediate(() => this.flush()) }
    return p
  }

  private flush(): void {
    const { ops, waiters } = this.queue
    if (waiters.length === 0) { this.flushing = false; return }
    this.queue = { ops: [], waiters: [] }
    this.db.batch(ops, { sync: this.sync }).then(
      () => { for (const w of waiters) w.resolve() },
      (err: Error) => { for (const w of waiters) w.reject(err) },
    ).finally(() => this.flush())
  }

  private state(user: string, device: string): DeviceState {
    const k = devKey(user, device)
    let st = this.devs.get(k)
    if (!st) { st = { user, device, lastTst: -1, months: new Set() }; this.devs.set(k, st) }
    return st
  }

  async *locations(user: string, device: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    yield* this.scan(locPrefix(user, device), q)
  }

  async *records(user: string, device: string, type: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    yield* this.scan(recPrefix(user, device, type), q)
  }

  private async *scan(prefix: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    const range = { gte: prefix + pad(q.from), lt: prefix + pad(Math.floor(q.to) + 1) }
    if (q.limit !== undefined) {
      // Newest N: read backwards, then hand them out ascending (N is bounded by the caller).
      const newest: string[] = []
      for await (const v of this.db.values({ ...range, reverse: true, limit: q.limit })) newest.push(v)
      for (let i = newest.length - 1; i >= 0; i--) yield JSON.parse(newest[i]) as Record<string, unknown>
      return
    }
    for await (const v of this.db.values(range)) yield JSON.parse(v) as Record<string, unknown>
  }

  devices(): DeviceSummary[] {
    return [...this.devs.values()].map(summary)
  }

  device(user: string, device: string): DeviceSummary | undefined {
    const st = this.devs.get(devKey(user, device))
    return st && summary(st)
  }

  async deleteDevice(user: string, device: string): Promise<number> {
    let count = 0
    for (const prefix of [locPrefix(user, device), `R${SEP}${user}${SEP}${device}${SEP}`]) {
      const keys: string[] = []
      for await (const k of this.db.keys({ gt: prefix, lt: prefix + END })) {
        keys.push(k)
        if (prefix.startsWith('L')) count++
        if (keys.length >= 10_000) { await this.db.batch(keys.splice(0).map((key) => ({ type: 'del' as const, key }))) }
      }
      await this.db.batch(keys.map((key) => ({ type: 'del' as const, key })))
    }
    await this.db.del(devKey(user, device))
    this.devs.delete(devKey(user, device))
    return count
  }

  /** The database itself, for backups and the write guard (store/write-guard.ts). */
  get level(): Level<string, string> { return this.db }

  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 5))
    await this.db.close()
  }
}

function summary(st: DeviceState): DeviceSummary {
  return { user: st.user, device: st.device, last: st.last, lastTopic: st.lastTopic, card: st.card, months: [...st.months].sort() }
}
