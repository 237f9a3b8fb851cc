import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { Session, SessionStore, SessionSync } from '../http/session.js'
import type { Logger } from '../log.js'
import type { PgListener } from './pg-listen.js'

/**
 * The map's sessions shared by the nodes of a cluster: a browser signed in on one node is signed in on
 * every node, and a sign-out ends it everywhere. Rows are keyed by the SHA-256 of the cookie, so the
 * cookie itself never leaves the browser. Each node keeps them in memory as the embedded hub does (they
 * are checked on every request) and learns of others' through NOTIFY; expiry is judged by each node.
 */
const CHANNEL = 'othub_sessions'

export class SharedSessions implements SessionSync {
  private store?: SessionStore
  private readonly node = randomUUID()

  constructor(private readonly pool: pg.Pool, listener: PgListener, private readonly log: Logger) {
    listener.on(CHANNEL, (payload) => this.remote(payload))
    listener.onConnect(() => this.loadAll())
  }

  async attach(store: SessionStore): Promise<void> {
    this.store = store
    await this.loadAll()
  }

  private async loadAll(): Promise<void> {
    if (!this.store) return
    // None lives longer than 30 days (http/session.ts): older rows are only clutter.
    await this.pool.query("delete from othub_sessions where created < now() - interval '30 days'")
    const { rows } = await this.pool.query<{ k: string; data: string }>('select k, data from othub_sessions')
    for (const r of rows) this.store.adopt(r.k, JSON.parse(r.data) as Session)
  }

  saved(key: string, s: Session): void {
    const data = JSON.stringify(s)
    this.run(async (c) => {
      await c.query('insert into othub_sessions (k, usr, data) values ($1, $2, $3) on conflict (k) do update set data = excluded.data', [key, s.user, data])
      await c.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ n: this.node, k: key, s })])
    })
  }

  deleted(key: string): void {
    this.run(async (c) => {
      await c.query('delete from othub_sessions where k = $1', [key])
      await c.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ n: this.node, k: key })])
    })
  }

  /** Sessions are written behind the request that made them; a failure is logged, the session still works here. */
  private run(fn: (c: pg.PoolClient) => Promise<void>): void {
    void (async () => {
      const c = await this.pool.connect()
      try { await fn(c) } finally { c.release() }
    })().catch((err: Error) => this.log.error(`Cannot share a map session with the cluster: ${err.message}`))
  }

  private remote(payload: string): void {
    const m = JSON.parse(payload) as { n: string; k: string; s?: Session }
    if (m.n === this.node || !this.store) return
    if (m.s) this.store.adopt(m.k, m.s)
    else this.store.forget(m.k)
  }
}
