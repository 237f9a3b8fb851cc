import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import type { Level } from 'level'
import type { Logger } from '../log.js'
import { GroupCommit } from '../store/group-commit.js'
import { retainedInMemory } from './retained.js'

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

/**
 * aedes-persistence-level with two costs taken off the per-message path (bench/RESULTS.md has the profiles):
 *  - as it comes, every PUBACK makes a LevelDB read (outgoingClearMessageId), also from clean-session
 *    clients, which never have anything stored: aedes keeps outgoing messages only for persistent sessions;
 *  - as it comes, every retained publish is a LevelDB write of its own, and the publish reaches its
 *    subscribers only once that write is done. Here retained writes go to disk as group commits, each
 *    holding a topic's newest put or del (a del that clears a retained message after a put still wins),
 *    and at a light load the publish goes on at once (see coalesceRetained). Sessions, offline queues and
 *    wills are written at once: a phone reconnecting right after a publish must find its queued copy on disk.
 */
export function brokerPersistence(db: Level<string, Buffer>, log: Logger): { persistence: AsyncLevelPersistence; retainedCount: () => number } {
  coalesceRetained(db, log)
  const p = new AsyncLevelPersistence(db) as AsyncLevelPersistence & { outgoingClearMessageId(c: { clean: boolean }, packet: unknown): Promise<unknown> }
  const clear = p.outgoingClearMessageId.bind(p)
  p.outgoingClearMessageId = (client, packet) => (client.clean ? Promise.resolve(undefined) : clear(client, packet))
  return { persistence: p, retainedCount: retainedInMemory(p, db) }
}

const RETAINED = 'retained:'

/** At a light load, retained changes reach the disk together this long after the first of them. */
const BEHIND_MS = 10
/** More retained changes than this in one such interval is no light load: the publishes wait for the disk. */
const BEHIND_MAX = 32

/**
 * Retained writes as group commits, one batch at a time, in order: two batches in flight at once could
 * reach LevelDB in either order and leave a topic's older message on disk. Only a topic's newest write of
 * a batch is kept: it alone would stand (a phone with ten locations in flight retains ten times per batch).
 *
 * Whether the publish waits for its write depends on the load. At a light one (no batch in flight, at most
 * BEHIND_MAX changes in BEHIND_MS) it goes on to its subscribers at once, and the changes of those BEHIND_MS
 * go to disk in one batch: at a steady 1,000 publishes a second that is one write in ten instead of one per
 * publish, a third fewer thread switches, and the delivery no longer waits for the disk. Under load each publish waits for
 * the batch that holds it, as before: that wait paces the publishers to what the disk and the subscribers
 * take (without it, a subscriber of everything fell behind under saturation and was cut off). The PUBACK
 * never waited for the retained write (aedes sends it before it publishes); the history is what is on disk
 * before it. So a crash may lose the retained changes of the last BEHIND_MS, never an acknowledged location;
 * a graceful stop writes them.
 */
function coalesceRetained(db: Level<string, Buffer>, log: Logger): void {
  const put = db.put.bind(db) as (key: string, value: Buffer, o?: unknown) => Promise<void>
  const del = db.del.bind(db) as (key: string, o?: unknown) => Promise<void>
  const batches = new GroupCommit<Op>((ops) => db.batch(ops as never))
  // Nobody waits for a write behind: its failure (a full disk) is told here. Memory still serves the
  // message; a restart would find the one before it.
  const written = () => batches.wait().catch((err: Error) => log.error(`Retained messages could not be written to the broker's database: ${err.message}`))
  let behind: NodeJS.Timeout | undefined
  let light = 0
  const queue = (op: Op) => {
    batches.stageLatest(op.key, op)
    if (!batches.busy && light < BEHIND_MAX) {
      light++
      behind ??= setTimeout(() => {
        behind = undefined
        light = 0
        if (batches.staged > 0) void written() // else a publish under load took them along
      }, BEHIND_MS)
      return Promise.resolve()
    }
    return batches.wait()
  }
  const d = db as unknown as Record<string, unknown>
  const close = db.close.bind(db) as () => Promise<void>
  // A graceful stop writes what was acknowledged: the batch that waits for the one in flight goes too.
  d.close = async () => {
    if (behind) { clearTimeout(behind); behind = undefined; await written() }
    await batches.idle()
    return close()
  }
  d.put = (key: string, value: Buffer, o?: unknown) => (key.startsWith(RETAINED) ? queue({ type: 'put', key, value }) : put(key, value, o))
  d.del = (key: string, o?: unknown) => (key.startsWith(RETAINED) ? queue({ type: 'del', key }) : del(key, o))
}
