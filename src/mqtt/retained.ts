import { isUtf8 } from 'node:buffer'
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
  load(): AsyncIterable<[string, string]>
  /** Queues a write (undefined: a delete) for the next batch, without waiting. */
  stage(topic: string, value: string | undefined): void
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
 * then only changes memory. A write storeRetained staged for the topic in between (another client's clear,
 * a publish without a record) would be newer on disk than in memory: then it is written again. QoS 2 is
 * left out, as aedes publishes it only at PUBREL, which may never come. aedes hands storeRetained a Packet
 * of its own holding the publish's payload Buffer, which is how a staged publish is recognised
 * (test/unit/aedes-internals.test.ts checks that aedes still does so).
 *
 * Only what SUBSCRIBE sends on is kept: the payload copied out of the socket's read buffer (a slice would
 * keep that whole buffer alive). On disk it is text, like everything in that database: the QoS digit, then
 * `u` and the payload when it is UTF-8 (an OwnTracks JSON payload, readable in a dump), else `b` and base64.
 * The broker's database of an earlier hub (`retained:<topic>` as aedes-persistence-level wrote them) is
 * moved here at the first start.
 */
export function retainedInMemory(persistence: unknown, db: Level<string, Buffer>, disk: RetainedDisk): { alongside: RetainAlongside; count(): number } {
  const p = persistence as RetainedStore
  const retained = new Map<string, RetainedPacket>()
  const setup = p.setup.bind(p)
  const older = p.createRetainedStream.bind(p)
  let seq = 0
  /**
   * Per topic with publishes staged with their records and not stored here yet: how many, and the newest
   * write storeRetained itself staged meanwhile.
   */
  const pending = new Map<string, { count: number; direct: number }>()
  /** Retained publishes staged with their record, by payload (aedes' Packet keeps that Buffer). */
  const early = new WeakMap<Buffer, { n: number; value: string }>()
  const write = (topic: string, value: string | undefined): Promise<void> => {
    const e = pending.get(topic)
    if (e) e.direct = ++seq
    disk.stage(topic, value)
    return disk.commit()
  }
  p.setup = async (broker) => {
    await setup(broker)
    for await (const [topic, value] of disk.load()) retained.set(topic, unpack(topic, value))
    const moved: string[] = []
    for await (const r of older('#') as AsyncIterable<RetainedPacket>) {
      moved.push(r.topic)
      if (retained.has(r.topic)) continue
      retained.set(r.topic, kept(r.topic, r.payload, r.qos))
      disk.stage(r.topic, pack(r.payload, r.qos))
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
      retained.set(packet.topic, kept(packet.topic, payload, packet.qos))
      // Later publishes staged with their records come later here too; only a write of storeRetained's
      // own staged after this one is newer on disk than what memory now holds.
      const e = pending.get(packet.topic)!
      const overtaken = e.direct > staged.n
      if (--e.count === 0) pending.delete(packet.topic)
      return overtaken ? write(packet.topic, staged.value) : Promise.resolve()
    }
    if (payload.length === 0) {
      retained.delete(packet.topic)
      return write(packet.topic, undefined)
    }
    retained.set(packet.topic, kept(packet.topic, payload, packet.qos))
    return write(packet.topic, pack(payload, packet.qos))
  }
  p.createRetainedStreamCombi = (patterns) => Readable.from(patterns.flatMap((f) => matching(retained, f)))
  p.createRetainedStream = (pattern) => Readable.from(matching(retained, pattern))
  const alongside: RetainAlongside = (packet) => {
    const payload = packet.payload
    if (packet.qos > 1 || !Buffer.isBuffer(payload) || payload.length === 0) return
    const value = pack(payload, packet.qos)
    early.set(payload, { n: ++seq, value })
    const e = pending.get(packet.topic)
    if (e) e.count++
    else pending.set(packet.topic, { count: 1, direct: 0 })
    disk.stage(packet.topic, value)
  }
  return { alongside, count: () => retained.size }
}

/** The stored text of a retained message: QoS digit, `u` + UTF-8 text or `b` + base64 of the payload. */
function pack(payload: Buffer | string, qos: number): string {
  if (typeof payload === 'string') return `${qos & 3}u${payload}`
  return isUtf8(payload) ? `${qos & 3}u${payload.toString('utf8')}` : `${qos & 3}b${payload.toString('base64')}`
}

/** What SUBSCRIBE sends on, the payload copied into a buffer of its own. */
function kept(topic: string, payload: Buffer | string, qos: number): RetainedPacket {
  const src = Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
  const copy = Buffer.allocUnsafeSlow(src.length)
  src.copy(copy)
  return { cmd: 'publish', topic, payload: copy, qos, retain: true }
}

/** What SUBSCRIBE sends on, from the stored text. */
function unpack(topic: string, value: string): RetainedPacket {
  const payload = value[1] === 'b' ? Buffer.from(value.slice(2), 'base64') : Buffer.from(value.slice(2), 'utf8')
  return { cmd: 'publish', topic, payload, qos: Number(value[0]) & 3, retain: true }
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
