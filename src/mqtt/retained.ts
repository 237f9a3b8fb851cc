import { Readable } from 'node:stream'
import type { Level } from 'level'
import { topicMatches } from '../access/topic-match.js'

/** What a SUBSCRIBE sends on of a retained message (aedes' handlers/subscribe.js reads no more). */
export interface RetainedPacket { cmd: string; topic: string; payload: Buffer | string; qos: number; retain: boolean }

interface RetainedStore {
  setup(broker: unknown): Promise<void>
  storeRetained(packet: RetainedPacket): Promise<void>
  createRetainedStream(pattern: string): Readable
  createRetainedStreamCombi(patterns: string[]): Readable
}

/**
 * Where retained messages are kept: the history's database (LevelHistory.stageRaw), so that a phone's
 * retained location goes to disk in the one batch that stores it in the history.
 */
export interface RetainedDisk {
  /** Every kept message: its topic and its value as `pack` made it. */
  load(): AsyncIterable<[string, Buffer]>
  /** Queues a write (undefined: a delete) for the next batch, without waiting. */
  stage(topic: string, value: Buffer | undefined): void
  /** Resolves once everything staged so far is on disk. */
  commit(): Promise<void>
}

/** Hands over a retained publish whose record is being stored, in that record's batch (see retainedInMemory). */
export type RetainAlongside = (packet: { topic: string; payload: Buffer | string; qos: number }) => void

/** Where aedes-persistence-level, and so the hub before, kept retained messages in the broker's database. */
const OLD_KEY = 'retained:'

/**
 * Retained messages served from memory and written to `disk`, for aedes-persistence-level (`persistence`).
 *
 * As it comes, that persistence answers every SUBSCRIBE by reading and decoding every retained message
 * in LevelDB and matching each against the filter: a phone subscribing to its own `…/cmd` paid for every
 * device's last location, and 2,000 phones reconnecting after a restart made four million decodes. The
 * retained set is small (one location, card and waypoints per device), so it is read once at start and
 * kept as a Map; a filter without wildcards is one lookup. Matches come in topic order, as LevelDB's key
 * order gave them; `#` and `+` do not match `$SYS/…` (MQTT-4.7.2-1).
 *
 * Writes reach the disk before aedes acknowledges the publish, so a restart or a crash finds what was
 * acknowledged; memory changes when aedes stores the message, as aedes' own in-memory persistence does.
 * Nearly every retained publish is a phone's location, card or waypoints, which the history stores before
 * the PUBACK: the returned function puts the retained copy into that same batch (at a steady rate two
 * LevelDB round trips per location became one, about a tenth of a core at 1,000 msg/s), and storeRetained
 * then only changes memory. A write for the topic staged in between (another client's publish or clear)
 * would be older on disk than in memory: then it is written again. QoS 2 is left out, as aedes publishes
 * it only at PUBREL, which may never come.
 *
 * Only what SUBSCRIBE sends on is kept: the payload copied out of the socket's read buffer (a slice would
 * keep that whole buffer alive) into the value that is written, one byte of QoS and the payload.
 * The broker's database of an earlier hub (`retained:<topic>` as aedes-persistence-level wrote them) is
 * moved here at the first start.
 */
export function retainedInMemory(persistence: unknown, db: Level<string, Buffer>, disk: RetainedDisk): { alongside: RetainAlongside; count(): number } {
  const p = persistence as RetainedStore
  const retained = new Map<string, RetainedPacket>()
  const setup = p.setup.bind(p)
  const older = p.createRetainedStream.bind(p)
  let seq = 0
  /** The newest write staged for a topic, while it may be in flight. */
  const newest = new Map<string, number>()
  /** Retained publishes staged with their record, by payload (aedes' Packet keeps that Buffer). */
  const early = new WeakMap<Buffer, { n: number; value: Buffer }>()
  const write = (topic: string, value: Buffer | undefined): Promise<void> => {
    const n = ++seq
    newest.set(topic, n)
    disk.stage(topic, value)
    return disk.commit().finally(() => { if (newest.get(topic) === n) newest.delete(topic) })
  }
  p.setup = async (broker) => {
    await setup(broker)
    for await (const [topic, value] of disk.load()) retained.set(topic, unpack(topic, value))
    const moved: string[] = []
    for await (const r of older('#') as AsyncIterable<RetainedPacket>) {
      moved.push(r.topic)
      if (retained.has(r.topic)) continue
      const value = pack(r.payload, r.qos)
      retained.set(r.topic, unpack(r.topic, value))
      disk.stage(r.topic, value)
    }
    if (moved.length === 0) return
    await disk.commit()
    await db.batch(moved.map((t) => ({ type: 'del' as const, key: OLD_KEY + t })))
  }
  p.storeRetained = (packet) => {
    const payload = packet.payload
    const staged = Buffer.isBuffer(payload) ? early.get(payload) : undefined
    if (staged) {
      early.delete(payload as Buffer)
      retained.set(packet.topic, unpack(packet.topic, staged.value))
      if (newest.get(packet.topic) === staged.n) { newest.delete(packet.topic); return Promise.resolve() }
      return write(packet.topic, staged.value)
    }
    if (payload.length === 0) {
      retained.delete(packet.topic)
      return write(packet.topic, undefined)
    }
    const value = pack(payload, packet.qos)
    retained.set(packet.topic, unpack(packet.topic, value))
    return write(packet.topic, value)
  }
  p.createRetainedStreamCombi = (patterns) => Readable.from(patterns.flatMap((f) => matching(retained, f)))
  p.createRetainedStream = (pattern) => Readable.from(matching(retained, pattern))
  const alongside: RetainAlongside = (packet) => {
    const payload = packet.payload
    if (packet.qos > 1 || !Buffer.isBuffer(payload) || payload.length === 0) return
    const n = ++seq
    const value = pack(payload, packet.qos)
    newest.set(packet.topic, n)
    early.set(payload, { n, value })
    disk.stage(packet.topic, value)
  }
  return { alongside, count: () => retained.size }
}

/** One byte of QoS, then the payload, in a buffer of its own. */
function pack(payload: Buffer | string, qos: number): Buffer {
  const src = Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
  const value = Buffer.allocUnsafeSlow(src.length + 1)
  value[0] = qos & 3
  src.copy(value, 1)
  return value
}

/** What SUBSCRIBE sends on, its payload a view of the stored value. */
function unpack(topic: string, value: Buffer): RetainedPacket {
  return { cmd: 'publish', topic, payload: value.subarray(1), qos: value[0] & 3, retain: true }
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
