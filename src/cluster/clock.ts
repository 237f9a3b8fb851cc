import pg from 'pg'
import type { Logger } from '../log.js'

/*
 * The one node of a cluster that keeps the clock's duties (an alert's "not arrived by" is sent once per
 * cluster, not once per node): whoever holds a PostgreSQL advisory lock on a connection of its own. The
 * lock goes with the connection, so when that node stops or dies another one takes it within TRY_MS.
 */
const LOCK = 0x07_4b_75_63
const TRY_MS = 5000

export class ClusterClock {
  private client?: pg.Client
  private held = false
  private timer?: NodeJS.Timeout
  private closed = false

  constructor(private readonly url: string, private readonly log: Logger) {}

  /** True while this node keeps the clock. */
  holds(): boolean { return this.held }

  start(): void {
    void this.attempt()
    this.timer = setInterval(() => { void this.attempt() }, TRY_MS)
    this.timer.unref()
  }

  private async attempt(): Promise<void> {
    if (this.held || this.closed) return
    try {
      if (!this.client) {
        const c = new pg.Client({ connectionString: this.url })
        const lost = () => {
          if (this.client !== c) return
          if (this.held) this.log.warn("This node no longer keeps the cluster's clock (PostgreSQL connection lost); another node takes it")
          this.client = undefined
          this.held = false
          c.end().catch(() => {})
        }
        c.on('error', lost)
        c.on('end', lost)
        this.client = c
        await c.connect()
      }
      const { rows } = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LOCK])
      if (rows[0]?.ok && !this.closed) {
        this.held = true
        this.log.info("This node keeps the cluster's clock: it sends the alerts that are due at a time of day (not-arrived-by)")
      }
    } catch {
      // PostgreSQL away: /healthz says so (cluster/pg-listen.ts); tried again in TRY_MS.
      const c = this.client
      this.client = undefined
      this.held = false
      c?.end().catch(() => {})
    }
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    this.held = false
    const c = this.client
    this.client = undefined
    await c?.end().catch(() => {})
  }
}
