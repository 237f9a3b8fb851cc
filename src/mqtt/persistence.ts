import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import type { Level } from 'level'
import { GroupCommit } from '../store/group-commit.js'
import { retainedInMemory } from './retained.js'

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

/**
 * aedes-persistence-level with two costs taken off the per-message path (bench/RESULTS.md has the profiles):
 *  - as it comes, every PUBACK makes a LevelDB read (outgoingClearMessageId), also from clean-session
 *    clients, which never have anything stored: aedes keeps outgoing messages only for persistent sessions;
 *  - as it comes, every retained publish is a LevelDB write of its own. Here retained writes go to disk
 *    as group commits, each holding a topic's newest put or del (a del that clears a retained message
 *    after a put still wins). Sessions, offline queues and wills are written at once:
 *    a phone reconnecting right after a publish must find its queued copy on disk.
 */
export function brokerPersistence(db: Level<string, Buffer>): { persistence: AsyncLevelPersistence; retainedCount: () => number } {
  coalesceRetained(db)
  const p = new AsyncLevelPersistence(db) as AsyncLevelPersistence & { outgoingClearMessageId(c: { clean: boolean }, packet: unknown): Promise<unknown> }
  const clear = p.outgoingClearMessageId.bind(p)
  p.outgoingClearMessageId = (client, packet) => (client.clean ? Promise.resolve(undefined) : clear(client, packet))
  return { persistence: p, retainedCount: retainedInMemory(p, db) }
}

const RETAINED = 'retained:'

function coalesceRetained(db: Level<string, Buffer>): void {
  const put = db.put.bind(db) as (key: string, value: Buffer, o?: unknown) => Promise<void>
  const del = db.del.bind(db) as (key: string, o?: unknown) => Promise<void>
  // One batch at a time, in order: two batches in flight at once could reach LevelDB in either order
  // and leave a topic's older message on disk. Only a topic's newest write of a batch is kept: it alone
  // would stand (a phone with ten locations in flight retains ten times per batch).
  const batches = new GroupCommit<Op>((ops) => db.batch(ops as never))
  const queue = (op: Op) => {
    batches.stageLatest(op.key, op)
    return batches.wait()
  }
  const d = db as unknown as Record<string, unknown>
  const close = db.close.bind(db) as () => Promise<void>
  // A graceful stop writes what was acknowledged: the batch that waits for the one in flight goes too.
  d.close = async () => { await batches.idle(); return close() }
  d.put = (key: string, value: Buffer, o?: unknown) => (key.startsWith(RETAINED) ? queue({ type: 'put', key, value }) : put(key, value, o))
  d.del = (key: string, o?: unknown) => (key.startsWith(RETAINED) ? queue({ type: 'del', key }) : del(key, o))
}
