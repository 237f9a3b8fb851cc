import { createHash, randomUUID } from 'node:crypto'
import type pg from 'pg'
import { GroupCommit } from './group-commit.js'
import { inTransaction } from './pg-transaction.js'
import type { DeviceSummary, HistoryRecord, HistoryStore, PruneCounts, RangeQuery, WriteCounts } from './types.js'

/*
 * The location history in PostgreSQL, for a cluster of hubs (schema: cluster/migrations.ts). Same keys
 * and the same stored JSON text as store/history-level.ts, so every node answers the Recorder API with
 * the same bytes as an embedded hub would.
 *
 * Writes are group-committed: publishes that arrive while a transaction is in flight wait and go together
 * in the next one (many phones' messages in one COMMIT), and each publish is acknowledged only when its
 * transaction has committed. Device summaries are kept in memory on every node (they are read on every
 * /last and HTTP-mode answer); a commit NOTIFYs the devices it changed and the other nodes re-read them.
 */
const CHANNEL = 'othub_devices'
const PAGE = 1000
/** NOTIFY payloads are limited to 8000 bytes. */
const NOTIFY_MAX = 7000

const h8 = (json: string) => createHash('sha1').update(json).digest('hex').slice(0, 8)
const month = (tst: number) => new Date(tst * 1000).toISOString().slice(0, 7)
const devKey = (u: string, d: string) => `${u}\x00${d}`
const norm = (t: number) => Math.max(0, Math.floor(t))

/** The notifications of other nodes' commits (cluster/pg-listen.ts is one): a channel, and every (re)connect. */
export interface ChangeFeed {
  on(channel: string, handler: (payload: string) => void): void
  onConnect(fn: () => Promise<void> | void): void
}

interface Planned { r: HistoryRecord; json: string; tst: number; h8: string }

function plan(r: HistoryRecord): Planned {
  const json = JSON.stringify(r.message)
  const tst = norm(typeof r.message.tst === 'number' ? r.message.tst : r.at ?? Math.floor(Date.now() / 1000))
  return { r, json, tst, h8: h8(json) }
}

interface SummaryRow { usr: string; device: string; last: string | null; last_topic: string | null; card: string | null; months: string[] }

function toSummary(row: SummaryRow): DeviceSummary {
  return {
    user: row.usr, device: row.device,
    last: row.last === null ? undefined : JSON.parse(row.last) as Record<string, unknown>,
    lastTopic: row.last_topic ?? undefined,
    card: row.card === null ? undefined : JSON.parse(row.card) as Record<string, unknown>,
    months: [...row.months].sort(),
  }
}

const INSERT_LOCATIONS = `insert into othub_locations (usr, device, tst, h8, json)
  select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])
  on conflict do nothing returning usr, device, tst, h8`
const INSERT_RECORDS = `insert into othub_records (usr, device, type, tst, h8, json)
  select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[])
  on conflict do nothing returning usr, device, type, tst, h8`
// A batch's summaries are merged into the stored ones, not written over them: another node may have
// committed a newer location of the same device meanwhile.
const UPSERT_DEVICES = `insert into othub_devices as d (usr, device, last, last_topic, last_tst, card, months)
  select u, dv, l, lt, ltst, cd, case when m = '' then '{}'::text[] else string_to_array(m, ',') end
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[]) as t(u, dv, l, lt, ltst, cd, m)
  on conflict (usr, device) do update set
    last = case when excluded.last is not null and excluded.last_tst >= d.last_tst then excluded.last else d.last end,
    last_topic = case when excluded.last is not null and excluded.last_tst >= d.last_tst then excluded.last_topic else d.last_topic end,
    last_tst = greatest(d.last_tst, excluded.last_tst),
    card = coalesce(excluded.card, d.card),
    months = array(select distinct x from unnest(d.months || excluded.months) x order by x)
  returning usr, device, last, last_topic, card, months`
const SUMMARY_COLUMNS = 'usr, device, last, last_topic, card, months'

export interface PgHistoryOptions {
  /** Called with each group commit's duration (the same histogram as LevelDB's batches). */
  onCommit?: (seconds: number) => void
}

export class PgHistory implements HistoryStore {
  private readonly devs = new Map<string, DeviceSummary>()
  /** Many phones' locations in one transaction: committed before any of them is acknowledged. */
  private readonly batches = new GroupCommit<Planned>(async (planned) => {
    const t0 = process.hrtime.bigint()
    try {
      await this.commit(planned, false)
    } catch (err) {
      this.failing = `PostgreSQL refuses history writes (${(err as Error).message}); locations are not acknowledged, phones keep them`
      throw err
    }
    this.failing = undefined
    this.o.onCommit?.(Number(process.hrtime.bigint() - t0) / 1e9)
  })
  private readonly node = randomUUID()
  private failing: string | undefined
  private readonly remote: ((s: DeviceSummary) => void)[] = []
  private readonly touched: ((keys: [string, string][] | 'all') => void)[] = []

  private constructor(private readonly pool: pg.Pool, private readonly o: PgHistoryOptions) {}

  /** `listener` carries other nodes' summary changes; it must be started after this returns. */
  static async open(pool: pg.Pool, listener: ChangeFeed, o: PgHistoryOptions = {}): Promise<PgHistory> {
    const h = new PgHistory(pool, o)
    listener.on(CHANNEL, (payload) => h.changed(payload))
    // Changes made while this node was not listening are only in the table: read it all again.
    listener.onConnect(async () => { await h.reload(); h.failing = undefined })
    await h.reload()
    return h
  }

  /**
   * Called with a device's summary when another node stored a newer location for it (the newest of
   * that node's group commit), so what follows a device's position (places) knows it on every node.
   */
  onRemoteLocation(fn: (s: DeviceSummary) => void): void { this.remote.push(fn) }

  /**
   * Called after a commit on any node changed devices' history (new rows, a deleted device, a prune),
   * with their (user, device), or 'all' when this node may have missed some (PostgreSQL reconnected):
   * for what is derived from the history and kept aside (cluster/day-cache.ts).
   */
  onDevicesChanged(fn: (keys: [string, string][] | 'all') => void): void { this.touched.push(fn) }

  private changedHere(keys: [string, string][] | 'all'): void {
    if (keys !== 'all' && keys.length === 0) return
    for (const fn of this.touched) fn(keys)
  }

  /** Why writes fail now (PostgreSQL is unreachable), or undefined. */
  trouble(): string | undefined { return this.failing }

  private async reload(): Promise<void> {
    const { rows } = await this.pool.query<SummaryRow>(`select ${SUMMARY_COLUMNS} from othub_devices order by usr, device`)
    this.devs.clear()
    for (const row of rows) this.devs.set(devKey(row.usr, row.device), toSummary(row))
    this.changedHere('all')
  }

  private changed(payload: string): void {
    const msg = JSON.parse(payload) as { n: string; d: [string, string][] }
    if (msg.n === this.node) return
    this.refresh(msg.d).catch(() => { /* the listener reloads everything when it reconnects */ })
  }

  private async refresh(keys: [string, string][]): Promise<void> {
    const { rows } = await this.pool.query<SummaryRow>(
      `select ${SUMMARY_COLUMNS} from othub_devices where (usr, device) in (select * from unnest($1::text[], $2::text[]))`,
      [keys.map((k) => k[0]), keys.map((k) => k[1])])
    const found = new Set<string>()
    for (const row of rows) {
      const k = devKey(row.usr, row.device)
      found.add(k)
      const before = this.devs.get(k)?.last?.tst
      const s = toSummary(row)
      this.devs.set(k, s)
      if (s.last && s.last.tst !== before) for (const fn of this.remote) fn(s)
    }
    for (const [u, d] of keys) if (!found.has(devKey(u, d))) this.devs.delete(devKey(u, d))
    this.changedHere(keys)
  }

  write(records: HistoryRecord[]): Promise<void> {
    for (const r of records) this.batches.stage(plan(r))
    return this.batches.wait()
  }

  async writeNew(records: HistoryRecord[]): Promise<WriteCounts> {
    const planned = records.map(plan)
    const added = await this.commit(planned, true)
    return { added, present: planned.length - added }
  }

  /**
   * One transaction: the rows (duplicates ignored), the merged summaries, the notification. With
   * `onlyFresh` the summaries take only rows that were not stored yet (an import's second run changes
   * nothing); returns how many rows were new.
   */
  private async commit(planned: Planned[], onlyFresh: boolean): Promise<number> {
    const locs = planned.filter((p) => p.r.message._type === 'location')
    const recs = planned.filter((p) => p.r.message._type !== 'location')
    let summaries: SummaryRow[] = []
    let added = 0
    await inTransaction(this.pool, async (c) => {
      const fresh = new Set<string>()
      if (locs.length > 0) {
        const res = await c.query<{ usr: string; device: string; tst: string; h8: string }>(INSERT_LOCATIONS, [
          locs.map((p) => p.r.user), locs.map((p) => p.r.device), locs.map((p) => p.tst), locs.map((p) => p.h8), locs.map((p) => p.json)])
        added += res.rowCount ?? 0
        for (const r of res.rows) fresh.add(`L\x00${r.usr}\x00${r.device}\x00${r.tst}\x00${r.h8}`)
      }
      if (recs.length > 0) {
        const res = await c.query<{ usr: string; device: string; type: string; tst: string; h8: string }>(INSERT_RECORDS, [
          recs.map((p) => p.r.user), recs.map((p) => p.r.device), recs.map((p) => p.r.message._type), recs.map((p) => p.tst), recs.map((p) => p.h8), recs.map((p) => p.json)])
        added += res.rowCount ?? 0
        for (const r of res.rows) fresh.add(`R\x00${r.usr}\x00${r.device}\x00${r.type}\x00${r.tst}\x00${r.h8}`)
      }
      const keyOf = (p: Planned) => p.r.message._type === 'location'
        ? `L\x00${p.r.user}\x00${p.r.device}\x00${p.tst}\x00${p.h8}`
        : `R\x00${p.r.user}\x00${p.r.device}\x00${p.r.message._type}\x00${p.tst}\x00${p.h8}`
      const changes = summarise(onlyFresh ? planned.filter((p) => fresh.delete(keyOf(p))) : planned)
      if (changes.length > 0) {
        const res = await c.query<SummaryRow>(UPSERT_DEVICES, [
          changes.map((s) => s.user), changes.map((s) => s.device), changes.map((s) => s.last), changes.map((s) => s.lastTopic),
          changes.map((s) => s.lastTst), changes.map((s) => s.card), changes.map((s) => s.months.join(','))])
        summaries = res.rows
        await this.notify(c, summaries.map((r) => [r.usr, r.device]))
      }
    })
    for (const row of summaries) this.devs.set(devKey(row.usr, row.device), toSummary(row))
    this.changedHere(summaries.map((r) => [r.usr, r.device]))
    return added
  }

  private async notify(c: pg.PoolClient, keys: [string, string][]): Promise<void> {
    let chunk: [string, string][] = []
    let size = 0
    const send = async () => {
      if (chunk.length) await c.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ n: this.node, d: chunk })])
      chunk = []; size = 0
    }
    for (const k of keys) {
      const len = k[0].length + k[1].length + 8
      if (size + len > NOTIFY_MAX) await send()
      chunk.push(k); size += len
    }
    await send()
  }

  locations(user: string, device: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    return this.scan('othub_locations', 'usr = $1 and device = $2', [user, device], q)
  }

  records(user: string, device: string, type: string, q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    return this.scan('othub_records', 'usr = $1 and device = $2 and type = $3', [user, device, type], q)
  }

  /**
   * A range read in key order (tst, then h8), a page at a time from the primary key's index, resuming
   * after the last row read: never holds the range in memory, never holds a connection between pages.
   */
  private async *scan(table: string, where: string, args: unknown[], q: RangeQuery): AsyncIterable<Record<string, unknown>> {
    const n = args.length
    const from = norm(q.from)
    const to = Math.floor(q.to)
    if (to < from) return
    if (q.limit !== undefined) {
      const { rows } = await this.pool.query<{ json: string }>(
        `select json from (select tst, h8, json from ${table} where ${where} and tst >= $${n + 1} and tst <= $${n + 2}
           order by tst desc, h8 desc limit $${n + 3}) s order by tst, h8`, [...args, from, to, q.limit])
      for (const r of rows) yield JSON.parse(r.json) as Record<string, unknown>
      return
    }
    let after: [number, string] = [from - 1, '\uffff']
    for (;;) {
      const { rows } = await this.pool.query<{ tst: string; h8: string; json: string }>(
        `select tst, h8, json from ${table} where ${where} and (tst, h8) > ($${n + 1}::bigint, $${n + 2}::text) and tst <= $${n + 3}
           order by tst, h8 limit ${PAGE}`, [...args, after[0], after[1], to])
      for (const r of rows) yield JSON.parse(r.json) as Record<string, unknown>
      if (rows.length < PAGE) return
      const last = rows[rows.length - 1]
      after = [Number(last.tst), last.h8]
    }
  }

  async prune(before: number): Promise<PruneCounts> {
    const cut = norm(before)
    const firstMonth = month(before)
    const { l, r, d } = await inTransaction(this.pool, async (c) => {
      const l = await c.query('delete from othub_locations where tst < $1', [cut])
      const r = await c.query('delete from othub_records where tst < $1', [cut])
      const d = await c.query<SummaryRow>(
        `update othub_devices set months = array(select x from unnest(months) x where x >= $1 order by x)
         where exists (select 1 from unnest(months) x where x < $1) returning ${SUMMARY_COLUMNS}`, [firstMonth])
      await this.notify(c, d.rows.map((row) => [row.usr, row.device]))
      return { l, r, d }
    })
    for (const row of d.rows) this.devs.set(devKey(row.usr, row.device), toSummary(row))
    this.changedHere('all')
    return { locations: l.rowCount ?? 0, records: r.rowCount ?? 0 }
  }

  devices(): DeviceSummary[] {
    return [...this.devs.values()]
  }

  device(user: string, device: string): DeviceSummary | undefined {
    return this.devs.get(devKey(user, device))
  }

  deviceCount(user: string): number {
    let n = 0
    for (const d of this.devs.values()) if (d.user === user) n++
    return n
  }

  async deleteDevice(user: string, device: string): Promise<number> {
    const l = await inTransaction(this.pool, async (c) => {
      const l = await c.query('delete from othub_locations where usr = $1 and device = $2', [user, device])
      await c.query('delete from othub_records where usr = $1 and device = $2', [user, device])
      await c.query('delete from othub_devices where usr = $1 and device = $2', [user, device])
      await this.notify(c, [[user, device]])
      return l
    })
    this.devs.delete(devKey(user, device))
    this.changedHere([[user, device]])
    return l.rowCount ?? 0
  }

  async close(): Promise<void> {
    await this.batches.idle()
  }
}

interface Change { user: string; device: string; last: string | null; lastTopic: string | null; lastTst: number; card: string | null; months: string[] }

/** The summary change of each device in a batch: its newest location (the later one on equal tst), last card, months. */
function summarise(planned: Planned[]): Change[] {
  const by = new Map<string, Change>()
  for (const p of planned) {
    const type = p.r.message._type
    if (type !== 'location' && type !== 'card') continue
    const k = devKey(p.r.user, p.r.device)
    let s = by.get(k)
    if (!s) { s = { user: p.r.user, device: p.r.device, last: null, lastTopic: null, lastTst: -1, card: null, months: [] }; by.set(k, s) }
    if (type === 'card') { s.card = p.json; continue }
    const m = month(p.tst)
    if (!s.months.includes(m)) s.months.push(m)
    if (p.tst >= s.lastTst) { s.last = p.json; s.lastTst = p.tst; s.lastTopic = p.r.topic }
  }
  for (const s of by.values()) s.months.sort()
  return [...by.values()]
}
