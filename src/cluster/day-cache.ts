/*
 * Where a cluster node keeps the day summaries it made (days/store.ts keeps them in the embedded
 * history's LevelDB): in memory, for this node only, and dropped for a device whenever any node commits
 * to its history (PgHistory.onDevicesChanged), so a day is made again from PostgreSQL after every
 * change and never served stale. The days are derived data: losing them costs time, never facts.
 * The same few calls Days makes of its LevelDB, over sorted string keys.
 */
const SEP = '\x00'
const MAX = 20_000

type Range = { gt?: string; gte?: string; lt?: string; lte?: string }
const inRange = (k: string, r: Range) =>
  (r.gt === undefined || k > r.gt) && (r.gte === undefined || k >= r.gte) && (r.lt === undefined || k < r.lt) && (r.lte === undefined || k <= r.lte)

export class DayCache {
  private readonly days = new Map<string, string>()

  async get(key: string): Promise<string | undefined> { return this.days.get(key) }

  async put(key: string, value: string): Promise<void> {
    this.days.delete(key)
    this.days.set(key, value)
    // the oldest made go first: a bound on memory however many devices are looked at
    if (this.days.size > MAX) this.days.delete(this.days.keys().next().value!)
  }

  async *iterator(r: Range): AsyncGenerator<[string, string]> {
    const keys = [...this.days.keys()].filter((k) => inRange(k, r)).sort()
    for (const k of keys) { const v = this.days.get(k); if (v !== undefined) yield [k, v] }
  }

  async clear(r: Range = {}): Promise<void> {
    for (const k of [...this.days.keys()]) if (inRange(k, r)) this.days.delete(k)
  }

  /** Forgets the days of these devices (their history changed), or all of them. */
  forget(keys: [string, string][] | 'all'): void {
    if (keys === 'all') { this.days.clear(); return }
    const prefixes = keys.map(([u, d]) => `S${SEP}${u}${SEP}${d}${SEP}`)
    for (const k of [...this.days.keys()]) if (prefixes.some((p) => k.startsWith(p))) this.days.delete(k)
  }
}
