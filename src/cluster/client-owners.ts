import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { SharedOwners } from '../mqtt/session-owners.js'
import type { Logger } from '../log.js'

/*
 * Which user holds each client id, for every node of a cluster (mqtt/session-owners.ts decides; this keeps
 * the answer in PostgreSQL). A persistent session's owner is kept until a clean session of the same user
 * ends it, as in the embedded broker's LevelDB. A clean-session connection holds its id while it is
 * connected, recorded with the node it is connected to; a node that dies (kill -9) cannot free its ids,
 * so each node says it is alive every HEARTBEAT_MS, and a clean-session hold of a node not heard from
 * for STALE_S seconds counts as free.
 */
const HEARTBEAT_MS = 2000
const STALE_S = 10

export class PgClientOwners implements SharedOwners {
  private readonly node = randomUUID()
  private timer?: NodeJS.Timeout

  constructor(private readonly pool: pg.Pool, private readonly log: Logger) {}

  async start(): Promise<void> {
    await this.beat()
    this.timer = setInterval(() => {
      // PostgreSQL away: /healthz says so already (cluster/pg-listen.ts); the next beat catches up.
      this.beat().catch(() => {})
    }, HEARTBEAT_MS)
    this.timer.unref()
  }

  private async beat(): Promise<void> {
    await this.pool.query('insert into othub_nodes (node, seen) values ($1, now()) on conflict (node) do update set seen = now()', [this.node])
  }

  async claim(clientId: string, user: string, persistent: boolean): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ usr: string }>(
      `insert into othub_client_owners as o (client_id, usr, persistent, node) values ($1, $2, $3, $4)
       on conflict (client_id) do update set usr = excluded.usr, persistent = excluded.persistent, node = excluded.node, since = now()
         where o.usr = excluded.usr
            or (not o.persistent and not exists (select 1 from othub_nodes n where n.node = o.node and n.seen > now() - make_interval(secs => $5)))
       returning usr`, [clientId, user, persistent, this.node, STALE_S])
    if (rows.length) return undefined
    const held = await this.pool.query<{ usr: string }>('select usr from othub_client_owners where client_id = $1', [clientId])
    // Freed between the two statements: claim again.
    if (!held.rows.length) return this.claim(clientId, user, persistent)
    return held.rows[0].usr
  }

  async release(clientId: string): Promise<void> {
    await this.pool.query('delete from othub_client_owners where client_id = $1 and node = $2 and not persistent', [clientId, this.node])
  }

  /** A node that stops frees its clean-session ids at once (its clients reconnect to the others). */
  async close(): Promise<void> {
    clearInterval(this.timer)
    try {
      await this.pool.query('delete from othub_client_owners where node = $1 and not persistent', [this.node])
      await this.pool.query('delete from othub_nodes where node = $1', [this.node])
    } catch (err) {
      this.log.warn(`Cannot free this node's client ids on the cluster (${(err as Error).message}); they are free ${STALE_S} s after its last sign of life`)
    }
  }
}
