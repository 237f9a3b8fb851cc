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

const KEY = 'retained:'

/**
 * Retained messages served from memory, for aedes-persistence-level (`persistence`, writing to `db`).
 *
 * As it comes, that persistence answers every SUBSCRIBE by reading and decoding every retained message
 * in LevelDB and matching each against the filter: a phone subscribing to its own `…/cmd` paid for every
 * device's last location, and 2,000 phones reconnecting after a restart made four million decodes. The
 * retained set is small (one location, card and waypoints per device), so it is read once at start and
 * kept as a Map; a filter without wildcards is one lookup. Matches come in topic order, as LevelDB's key
 * order gave them; `#` and `+` do not match `$SYS/…` (MQTT-4.7.2-1).
 *
 * Writes still reach LevelDB, as group commits (persistence.ts says when a publish waits for its write), so a
 * restart finds them; memory changes first, as aedes' own in-memory persistence does. Only what SUBSCRIBE sends
 * on is kept, and stored as the same msgpack map aedes-persistence-level reads back, written here
 * (encodeRetained) instead of by msgpack-lite, which allocates and zero-fills a fresh buffer of at least
 * 2 kB for each. Returns how many there are (for $SYS: counting the keys on disk took milliseconds).
 */
export function retainedInMemory(persistence: unknown, db: Level<string, Buffer>): () => number {
  const p = persistence as RetainedStore
  const retained = new Map<string, RetainedPacket>()
  const setup = p.setup.bind(p)
  const allOnDisk = p.createRetainedStream.bind(p)
  p.setup = async (broker) => {
    await setup(broker)
    for await (const r of allOnDisk('#') as AsyncIterable<RetainedPacket>) retained.set(r.topic, encodeRetained(r).kept)
  }
  p.storeRetained = (packet) => {
    if (packet.payload.length === 0) {
      retained.delete(packet.topic)
      return db.del(KEY + packet.topic)
    }
    const { record, kept } = encodeRetained(packet)
    retained.set(packet.topic, kept)
    return db.put(KEY + packet.topic, record)
  }
  p.createRetainedStreamCombi = (patterns) => Readable.from(patterns.flatMap((f) => matching(retained, f)))
  p.createRetainedStream = (pattern) => Readable.from(matching(retained, pattern))
  return () => retained.size
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

/** Bytes of a msgpack str or bin length prefix for `n` bytes, in the spec's smallest form. */
const headerBytes = (n: number, str: boolean) => (str && n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5)

/** Writes that prefix at `at`; returns where the value starts. */
function writeHeader(b: Buffer, at: number, n: number, str: boolean): number {
  if (str && n < 32) { b[at] = 0xa0 | n; return at + 1 }
  if (n < 0x100) { b[at] = str ? 0xd9 : 0xc4; b[at + 1] = n; return at + 2 }
  if (n < 0x10000) { b[at] = str ? 0xda : 0xc5; b.writeUInt16BE(n, at + 1); return at + 3 }
  b[at] = str ? 0xdb : 0xc6
  b.writeUInt32BE(n, at + 1)
  return at + 5
}

const ascii = (s: string) => [...Buffer.from(s)]
const MAP_CMD_TOPIC = Buffer.from([0x85, 0xa3, ...ascii('cmd'), 0xa7, ...ascii('publish'), 0xa5, ...ascii('topic')]) // a map of five entries
const PAYLOAD = Buffer.from([0xa7, ...ascii('payload')])
const QOS = Buffer.from([0xa3, ...ascii('qos')])
const RETAIN = Buffer.from([0xa6, ...ascii('retain'), 0xc3]) // retain: true

/**
 * {cmd, topic, payload, qos, retain} as msgpack (strings as str, the payload as bin, qos a fixint), in one
 * exact-size allocation of its own; the message kept in memory holds its payload as a view of the same
 * bytes. Its own allocation, not a slice of Node's shared pool: a retained message lives long, and a
 * slice would keep a whole pool (or the socket's read buffer it came in) alive with it.
 */
export function encodeRetained(r: RetainedPacket): { record: Buffer; kept: RetainedPacket } {
  const src = Buffer.isBuffer(r.payload) ? r.payload : Buffer.from(r.payload)
  const topicBytes = Buffer.byteLength(r.topic, 'utf8')
  const size = MAP_CMD_TOPIC.length + headerBytes(topicBytes, true) + topicBytes + PAYLOAD.length +
    headerBytes(src.length, false) + src.length + QOS.length + 1 + RETAIN.length
  const b = Buffer.allocUnsafeSlow(size)
  let at = MAP_CMD_TOPIC.copy(b, 0)
  at = writeHeader(b, at, topicBytes, true)
  at += b.write(r.topic, at, 'utf8')
  at += PAYLOAD.copy(b, at)
  at = writeHeader(b, at, src.length, false)
  const payload = b.subarray(at, at + src.length)
  at += src.copy(b, at)
  at += QOS.copy(b, at)
  b[at++] = r.qos & 0x7f
  RETAIN.copy(b, at)
  return { record: b, kept: { cmd: 'publish', topic: r.topic, payload, qos: r.qos, retain: true } }
}
