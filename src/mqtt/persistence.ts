import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import type { Level } from 'level'
import { retainedInMemory, type RetainAlongside, type RetainedDisk } from './retained.js'

/**
 * aedes-persistence-level with two costs taken off the per-message path (bench/RESULTS.md has the profiles):
 *  - as it comes, every PUBACK makes a LevelDB read (outgoingClearMessageId), also from clean-session
 *    clients, which never have anything stored: aedes keeps outgoing messages only for persistent sessions;
 *  - as it comes, every retained publish is a LevelDB write of its own in this database. Retained messages
 *    are kept in memory and on `retained` instead (retained.ts), in the batch of the history record they
 *    came with. Sessions, offline queues and wills are written here at once: a phone reconnecting right
 *    after a publish must find its queued copy on disk.
 */
export function brokerPersistence(db: Level<string, Buffer>, retained: RetainedDisk): { persistence: AsyncLevelPersistence; retained: { alongside: RetainAlongside; count(): number } } {
  const p = new AsyncLevelPersistence(db) as AsyncLevelPersistence & { outgoingClearMessageId(c: { clean: boolean }, packet: unknown): Promise<unknown> }
  const clear = p.outgoingClearMessageId.bind(p)
  p.outgoingClearMessageId = (client, packet) => (client.clean ? Promise.resolve(undefined) : clear(client, packet))
  return { persistence: p, retained: retainedInMemory(p, db, retained) }
}
