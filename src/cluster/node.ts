import pg from 'pg'
import type { Logger } from '../log.js'
import { hidePassword } from '../ops/config-file.js'
import { PgHistory } from '../store/history-pg.js'
import { PgClientOwners } from './client-owners.js'
import { ClusterClock } from './clock.js'
import { FileMirror, type Mirrored } from './file-mirror.js'
import { migrate } from './migrations.js'
import { SharedSessions } from './sessions.js'
import { PgListener } from './pg-listen.js'
import { redisBroker, type SharedBroker } from './redis-broker.js'

/**
 * The parts that make a hub a node of a cluster (README.md, "When one machine is not enough"): the
 * history in PostgreSQL, the broker's state in Redis. Everything else of the hub runs as it does
 * embedded, on every node.
 */
export interface ClusterNode {
  history: PgHistory
  broker: SharedBroker
  pool: pg.Pool
  listener: PgListener
  /** Users, rules, keys, cards, tours: files on every node, text in PostgreSQL. */
  files: FileMirror
  sessions: SharedSessions
  /** Which user holds each MQTT client id, on every node. */
  owners: PgClientOwners
  /** Whether this node keeps the cluster's clock (alerts due at a time of day are sent by one node). */
  clock: ClusterClock
  /** Why this node cannot store locations now (for /healthz, so a load balancer sends phones elsewhere). */
  trouble(): string | undefined
  /**
   * A stop begins: /healthz answers 503 while the node still serves, for as long as a load balancer
   * takes to notice (deploy/haproxy.cfg: two failed checks a second apart), so new connections go to
   * the other nodes before this one stops accepting.
   */
  drain(): Promise<void>
  close(): Promise<void>
}

/** Longer than deploy/haproxy.cfg takes to mark a node down (fall 2 × inter 1 s). */
const DRAIN_MS = 2500

export interface ClusterOptions {
  redis: string
  postgres: string
  log: Logger
  /** The files of shared state (cluster/file-mirror.ts). */
  files: Mirrored[]
  onCommit?: (seconds: number) => void
}

export async function openCluster(o: ClusterOptions): Promise<ClusterNode> {
  const { log } = o
  const pool = new pg.Pool({ connectionString: o.postgres, max: 10, connectionTimeoutMillis: 5000 })
  // An idle client's error (PostgreSQL restarted) must not end the process: the pool drops the client.
  pool.on('error', (err) => log.warn(`PostgreSQL: idle connection lost (${err.message})`))
  let broker: SharedBroker | undefined
  try {
    const version = await migrate(pool)
    log.info(`PostgreSQL ${hidePassword(o.postgres)}: schema version ${version}`)
    const listener = new PgListener(o.postgres, log)
    const history = await PgHistory.open(pool, listener, { onCommit: o.onCommit })
    const files = new FileMirror(pool, o.files, log)
    const sync = await files.init(listener)
    if (sync.pulled) log.info(`Took ${sync.pulled} files of shared state (users, rules, keys, cards, tours) from the cluster`)
    if (sync.pushed) log.info(`Gave ${sync.pushed} files of shared state to a new cluster`)
    const sessions = new SharedSessions(pool, listener, log)
    const owners = new PgClientOwners(pool, log)
    await owners.start()
    const clock = new ClusterClock(o.postgres, log)
    clock.start()
    await listener.start()
    broker = redisBroker(o.redis, log)
    log.info(`Redis ${hidePassword(o.redis)}: broker state shared with the other nodes`)
    const b = broker
    let draining = false
    return {
      history, broker: b, pool, listener, files, sessions, owners, clock,
      // Redis is left out: every node shares it, so taking nodes out of rotation would not help, and
      // ioredis holds commands until it is back. Its outages are logged.
      trouble: () => (draining ? 'draining: this node is stopping' : undefined) ?? history.trouble() ?? listener.trouble(),
      async drain() {
        draining = true
        log.info(`Draining: /healthz answers 503 for ${DRAIN_MS / 1000} s before this node stops accepting`)
        await new Promise((r) => setTimeout(r, DRAIN_MS))
      },
      async close() {
        files.stop()
        await owners.close()
        await clock.close()
        await listener.close()
        await pool.end()
      },
    }
  } catch (err) {
    await broker?.close()
    await pool.end().catch(() => {})
    throw err
  }
}
