import pg from 'pg'
import type { Logger } from '../log.js'

export type NotifyHandler = (payload: string) => void

/**
 * One connection that LISTENs for the cluster's change notifications, and comes back by itself after
 * PostgreSQL restarts. Notifications sent while it was away are lost, so every (re)connect calls
 * `onConnect`: the owners of caches reload them then. While it is away, `trouble()` says so, which
 * /healthz reports.
 */
export class PgListener {
  private client?: pg.Client
  private readonly handlers = new Map<string, NotifyHandler[]>()
  private readonly reconnects: (() => Promise<void> | void)[] = []
  private down: string | undefined = 'not connected to PostgreSQL yet'
  private closed = false
  private timer?: NodeJS.Timeout

  constructor(private readonly url: string, private readonly log: Logger, private readonly retryMs = 1000) {}

  on(channel: string, handler: NotifyHandler): void {
    const list = this.handlers.get(channel) ?? []
    list.push(handler)
    this.handlers.set(channel, list)
  }

  /** Called after every (re)connect, once LISTEN is in place. */
  onConnect(fn: () => Promise<void> | void): void { this.reconnects.push(fn) }

  trouble(): string | undefined { return this.down }

  async start(): Promise<void> {
    await this.connect()
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url })
    client.on('error', (err) => this.lost(client, err))
    client.on('end', () => this.lost(client, new Error('connection ended')))
    client.on('notification', (n) => {
      for (const h of this.handlers.get(n.channel) ?? []) {
        try { h(n.payload ?? '') } catch (err) { this.log.error(`PostgreSQL notification on ${n.channel}: ${(err as Error).message}`) }
      }
    })
    await client.connect()
    for (const ch of this.handlers.keys()) await client.query(`listen ${pg.Client.prototype.escapeIdentifier(ch)}`)
    this.client = client
    for (const fn of this.reconnects) await fn()
    if (this.down && this.down !== 'not connected to PostgreSQL yet') this.log.warn('PostgreSQL is back: change notifications resumed')
    this.down = undefined
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client || this.closed) return
    this.client = undefined
    this.down = `PostgreSQL connection lost (${err.message})`
    this.log.error(`${this.down}; reconnecting every ${this.retryMs} ms`)
    client.end().catch(() => {})
    this.retry()
  }

  private retry(): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      this.connect().catch((err: Error) => {
        this.down = `PostgreSQL unreachable (${err.message})`
        this.retry()
      })
    }, this.retryMs)
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    await this.client?.end().catch(() => {})
  }
}
