import { Readable } from 'node:stream'
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import type { Level } from 'level'
import { topicMatches } from '../access/topic-match.js'

type Op = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }

/**
 * aedes-persistence-level with two costs taken off the per-message path (bench/RESULTS.md has the profiles):
 *  - every PUBACK made a LevelDB read (outgoingClearMessageId), also from clean-session clients, which
 *    never have anything stored: aedes keeps outgoing messages only for persistent sessions;
 *  - every retained publish was a LevelDB write of its own. Retained writes issued in the same turn of
 *    the event loop now go to disk as one batch, in the order they were issued (a del that clears a
 *    retained message after a put still wins). Sessions, offline queues and wills are written at once as
 *    before: a phone reconnecting right after a publish must find its queued copy on disk.
 */
export function brokerPersistence(db: Level<string, Buffer>): AsyncLevelPersistence {
  coalesceRetained(db)
  const p = new AsyncLevelPersistence(db) as AsyncLevelPersistence & { outgoingClearMessageId(c: { clean: boolean }, packet: unknown): Promise<unknown> }
  const clear = p.outgoingClearMessageId.bind(p)
  p.outgoingClearMessageId = (client, packet) => (client.clean ? Promise.resolve(undefined) : clear(client, packet))
  retainedInMemory(p)
  return p
}

interface RetainedPacket { cmd: string; topic: string; payload: Buffer | string; qos: number; retain: boolean }
type RetainedStore = {
  setup(broker: unknown): Promise<void>
  storeRetained(packet: RetainedPacket): Promise<void>
  createRetainedStream(pattern: string): Readable
  createRetainedStreamCombi(patterns: string[]): Readable
}

/**
 * Retained messages served from memory. aedes-persistence-level answers every SUBSCRIBE by reading and
 * decoding every retained message in LevelDB and matching each against the filter: a phone subscribing
 * to its own `…/cmd` paid for every device's last location, and 2,000 phones reconnecting after a
 * restart made four million decodes. The retained set is small (one location, card and waypoints per
 * device), so it is read once at start and kept as a Map; a filter without wildcards is one lookup.
 *
 * Writes still go to LevelDB before aedes acknowledges the publish (through the batched put above), so
 * a restart or a crash finds what was acknowledged; memory changes first, as aedes' own in-memory
 * persistence does. Only what SUBSCRIBE sends on is kept, with the payload copied out of the socket's
 * read buffer (a slice would keep that whole buffer alive). Matches come in topic order, as LevelDB's
 * key order gave them; `#` and `+` do not match `$SYS/…` (MQTT-4.7.2-1).
 */
function retainedInMemory(persistence: AsyncLevelPersistence): void {
  const p = persistence as unknown as RetainedStore
  const retained = new Map<string, RetainedPacket>()
  const setup = p.setup.bind(p)
  const store = p.storeRetained.bind(p)
  const allOnDisk = p.createRetainedStream.bind(p)
  p.setup = async (broker) => {
    await setup(broker)
    for await (const r of allOnDisk('#') as AsyncIterable<RetainedPacket>) retained.set(r.topic, kept(r))
  }
  p.storeRetained = (packet) => {
    if (packet.payload.length === 0) retained.delete(packet.topic)
    else retained.set(packet.topic, kept(packet))
    return store(packet)
  }
  p.createRetainedStreamCombi = (patterns) => Readable.from(patterns.flatMap((f) => matching(retained, f)))
  p.createRetainedStream = (pattern) => Readable.from(matching(retained, pattern))
}

function kept(r: RetainedPacket): RetainedPacket {
  const src = Buffer.isBuffer(r.payload) ? r.payload : Buffer.from(r.payload)
  const payload = Buffer.allocUnsafeSlow(src.length)
  src.copy(payload)
  return { cmd: 'publish', topic: r.topic, payload, qos: r.qos, retain: true }
}

function matching(retained: Map<string, RetainedPacket>, filter: string): RetainedPacket[] {
  if (!filter.includes('+') && !filter.includes('#')) {
    const r = retained.get(filter)
    return r ? [r] : []
  }
  const out: RetainedPacket[] = []
  for (const [topic, r] of retained) if (topicMatches(filter, topic)) out.push(r)
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))
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
