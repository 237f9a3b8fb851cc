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
 * Writes still reach LevelDB before aedes acknowledges the publish, so a restart or a crash finds what was
 * acknowledged; memory changes first, as aedes' own in-memory persistence does. Only what SUBSCRIBE sends
 * on is kept, the payload copied out of the socket's read buffer (a slice would keep that whole buffer
 * alive), and stored as the same msgpack map aedes-persistence-level reads back, written here in one
 * exact-size buffer instead of by msgpack-lite (which allocates and zero-fills a fresh buffer of at least 2 kB for each).
 */
export function retainedInMemory(persistence: unknown, db: Level<string, Buffer>): void {
  const p = persistence as RetainedStore
  const retained = new Map<string, RetainedPacket>()
  const setup = p.setup.bind(p)
  const allOnDisk = p.createRetainedStream.bind(p)
  p.setup = async (broker) => {
    await setup(broker)
    for await (const r of allOnDisk('#') as AsyncIterable<RetainedPacket>) retained.set(r.topic, kept(r))
  }
  p.storeRetained = (packet) => {
    if (packet.payload.length === 0) {
      retained.delete(packet.topic)
      return db.del(KEY + packet.topic)
    }
    const r = kept(packet)
    retained.set(packet.topic, r)
    return db.put(KEY + packet.topic, encodeRetained(r))
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

/** Length prefix of a msgpack str or bin of `n` bytes (the spec's smallest form). */
function header(n: number, str: boolean): Buffer {
  if (str && n < 32) return Buffer.from([0xa0 | n])
  if (n < 0x100) return Buffer.from([str ? 0xd9 : 0xc4, n])
  if (n < 0x10000) return Buffer.from([str ? 0xda : 0xc5, n >> 8, n & 0xff])
  const b = Buffer.alloc(5)
  b[0] = str ? 0xdb : 0xc6
  b.writeUInt32BE(n, 1)
  return b
}

const FIXED = {
  map: Buffer.from([0x85]), // a map of five entries
  cmd: Buffer.from([0xa3, ...Buffer.from('cmd'), 0xa7, ...Buffer.from('publish')]),
  topic: Buffer.from([0xa5, ...Buffer.from('topic')]),
  payload: Buffer.from([0xa7, ...Buffer.from('payload')]),
  qos: Buffer.from([0xa3, ...Buffer.from('qos')]),
  retain: Buffer.from([0xa6, ...Buffer.from('retain'), 0xc3]), // retain: true
}

/** {cmd, topic, payload, qos, retain} as msgpack: strings as str, the payload as bin, qos a fixint. */
export function encodeRetained(r: RetainedPacket): Buffer {
  const topic = Buffer.from(r.topic, 'utf8')
  const payload = r.payload as Buffer
  return Buffer.concat([FIXED.map, FIXED.cmd, FIXED.topic, header(topic.length, true), topic,
    FIXED.payload, header(payload.length, false), payload, FIXED.qos, Buffer.from([r.qos & 0x7f]), FIXED.retain])
}
