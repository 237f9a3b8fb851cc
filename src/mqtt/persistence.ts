import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import type { Level } from 'level'
import { retainedInMemory } from './retained.js'

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

/**
 * aedes-persistence-level with two costs taken off the per-message path (bench/RESULTS.md has the profiles):
 *  - as it comes, every PUBACK makes a LevelDB read (outgoingClearMessageId), also from clean-session
 *    clients, which never have anything stored: aedes keeps outgoing messages only for persistent sessions;
 *  - as it comes, every retained publish is a LevelDB write of its own. Here retained writes issued in the
 *    same turn of the event loop go to disk as one batch, in the order they were issued (a del that clears
 *    a retained message after a put still wins). Sessions, offline queues and wills are written at once:
 *    a phone reconnecting right after a publish must find its queued copy on disk.
 */
export function brokerPersistence(db: Level<string, Buffer>): AsyncLevelPersistence {
  coalesceRetained(db)
  const p = new AsyncLevelPersistence(db) as AsyncLevelPersistence & { outgoingClearMessageId(c: { clean: boolean }, packet: unknown): Promise<unknown> }
  const clear = p.outgoingClearMessageId.bind(p)
  p.outgoingClearMessageId = (client, packet) => (client.clean ? Promise.resolve(undefined) : clear(client, packet))
  retainedInMemory(p, db)
  return p
}

const RETAINED = 'retained:'

function coalesceRetained(db: Level<string, Buffer>): void {
  const batch = db.batch.bind(db) as (ops: Op[]) => Promise<void>
  const put = db.put.bind(db) as (key: string, value: Buffer, o?: unknown) => Promise<void>
  const del = db.del.bind(db) as (key: string, o?: unknown) => Promise<void>
  let ops: Op[] = []
  let waiters: { resolve: () => void; reject: (e: Error) => void }[] = []
  const flush = () => {
    const mine = ops
    const them = waiters
    ops = []
    waiters = []
    batch(mine).then(() => { for (const w of them) w.resolve() }, (err: Error) => { for (const w of them) w.reject(err) })
  }
  const queue = (more: Op[]) => new Promise<void>((resolve, reject) => {
    if (ops.length === 0) setImmediate(flush)
    ops.push(...more)
    waiters.push({ resolve, reject })
  })
  const d = db as unknown as Record<string, unknown>
  d.put = (key: string, value: Buffer, o?: unknown) => (key.startsWith(RETAINED) ? queue([{ type: 'put', key, value }]) : put(key, value, o))
  d.del = (key: string, o?: unknown) => (key.startsWith(RETAINED) ? queue([{ type: 'del', key }]) : del(key, o))
}
