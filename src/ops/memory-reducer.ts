import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'

/** How often the hub looks at its heap and its event loop. */
const CHECK_MS = 5_000
/** The event loop was busy less than this share of the last check's interval: nobody is waiting on it. */
const QUIET = 0.02
/** The heap grew by this much (and by a quarter) since the last full collection: worth giving back. */
const GROWTH_BYTES = 8 * 1024 * 1024

/**
 * How far V8 lets the old generation grow past what the last full collection left, in percent. On a
 * machine with gigabytes to spare V8 allows up to four times (a Raspberry Pi with 1 GB gets about 1.5
 * times by V8's own rule): under a flood every message outlives the young generation, and 1,000 phones
 * took the hub to 272–297 MB RSS where 50 MB were live. Twice what is live gave 203–209 MB at the
 * same CPU per message (bench/RESULTS.md).
 */
const HEAP_GROWING_PERCENT = 100

/** A full collection, and what lets go of the inspector session it is asked through. */
interface Collector { collect(): Promise<void>; close(): void }

/**
 * Gives memory back once the hub has gone quiet after a busy spell, as a browser does in its idle time.
 * V8 collects the old generation when it grows, not when the program stops allocating, and Node never
 * tells it that it is idle: the garbage of 2,000 phones logging in (password checks, parsing, session
 * writes) was promoted and kept for good, 29 kB of RSS per idle phone where 13 kB are live, and the
 * hub's own start-up left 16 MB. So once the event loop has been nearly idle for a check's interval and
 * the heap has grown well past what the last full collection left, one full collection runs: a pause
 * of some 10–50 ms when nobody is waiting on the hub, never while it is busy.
 *
 * The collection is asked of V8 through the process's own inspector session (HeapProfiler), the
 * supported way without starting Node with --expose-gc; a Node built without the inspector keeps V8's
 * own schedule.
 */
export class MemoryReducer {
  private timer?: NodeJS.Timeout
  private elu?: EventLoopUtilization
  /** V8's heap (bytes committed) after the last full collection. */
  private base = 0
  private collector?: Collector
  private running = false

  constructor(private readonly log: Logger, private readonly stats: Stats) {}

  /** Collects once now (what start-up left), then whenever the hub goes quiet after growing. */
  async start(): Promise<void> {
    capHeapGrowth()
    this.collector = await inspectorCollector(this.log)
    if (!this.collector) return
    await this.reduce('after start-up')
    this.elu = performance.eventLoopUtilization()
    this.timer = setInterval(() => this.check(), CHECK_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.collector?.close()
    this.collector = undefined
  }

  private check(): void {
    const now = performance.eventLoopUtilization()
    const busy = performance.eventLoopUtilization(now, this.elu).utilization
    this.elu = now
    const heap = getHeapStatistics().total_heap_size
    if (busy < QUIET && heap > this.base + Math.max(GROWTH_BYTES, this.base / 4)) void this.reduce('quiet after a busy spell')
  }

  private async reduce(why: string): Promise<void> {
    const collector = this.collector
    if (this.running || !collector) return
    this.running = true
    const before = getHeapStatistics().total_heap_size
    try {
      await collector.collect()
      this.stats.memoryCollections++
      this.base = getHeapStatistics().total_heap_size
      this.log.debug(`Memory: full collection ${why}, heap ${mb(before)} → ${mb(this.base)} MB`)
    } catch (err) {
      if (this.collector !== collector) return // stopped meanwhile: the session was let go
      this.log.warn(`Memory: a full collection failed (${(err as Error).message}); V8 collects on its own schedule`)
      this.stop()
    } finally {
      this.running = false
    }
  }
}

/** V8 reads the factor at every full collection, so it can be set now; an operator's own flag wins. */
function capHeapGrowth(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /heap[-_]growing[-_]percent/.test(a))
  if (!given) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1)

async function inspectorCollector(log: Logger): Promise<Collector | undefined> {
  try {
    const { Session } = await import('node:inspector')
    const session = new Session()
    session.connect()
    return {
      collect: () => new Promise<void>((resolve, reject) => session.post('HeapProfiler.collectGarbage', (err) => (err ? reject(err) : resolve()))),
      close: () => session.disconnect(),
    }
  } catch (err) {
    log.debug(`Memory: no inspector in this Node (${(err as Error).message}); V8 collects on its own schedule`)
    return undefined
  }
}
