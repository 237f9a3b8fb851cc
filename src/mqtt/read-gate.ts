import type { Duplex } from 'node:stream'

const HELD = Symbol('held')
const EPOCH = Symbol('epoch')
const QUEUED = Symbol('queued')
const PASS = Symbol('pass')
/** A connection aedes reads, with what the gate keeps on it (fields, not a closure per connection). */
type Gated = Duplex & { [HELD]?: number; [EPOCH]?: number; [QUEUED]?: boolean; [PASS]?: boolean; client?: AedesClient }
/** What the gate uses of aedes' client: its count of packets being handled, its read step and its parser. */
interface AedesClient { _parsingBatch: number; _nextBatch(): void; conn: Gated; _parser?: Parser }
interface Parser { client: AedesClient; parse(buf: Buffer): unknown }

export interface ReadGate {
  /** Puts a connection aedes has just made a client for behind the gate. */
  gate(conn: Duplex): void
  /** The connection's packets wait on purpose (publish-rate): what it read stops counting now. */
  release(conn: Duplex): void
}

/**
 * One bound on what all connections together have read and not yet handled.
 *
 * aedes reads a client's next chunk as soon as every packet of its last one is handled, so a busy hub
 * holds one chunk of every busy phone: 1,000 phones with 10 locations in flight each put 10,000
 * messages in memory at once. Each waited ~0.4 s for the CPU, outlived the young generation and was
 * promoted; a subscriber of everything got them in one burst and was disconnected as too slow; and an
 * HTTP request waited behind all of them. Past `limit` bytes, a connection whose chunk is handled
 * waits in line before its next read: what it sent stays in the kernel's socket buffer, and the
 * connections are read in turn.
 *
 * Only what the hub is working on counts, so that no connection can shut the gate on the others:
 *  - a chunk counts only while its packets are being handled: one that held no whole packet (the start of
 *    a large one, a CONNECT still coming in) counts no longer once it is parsed;
 *  - a client slowed down by publish-rate stops counting as soon as it is (release);
 *  - a chunk counts for at most a quarter of `limit`, and for `span` to 2 × `span` ms at most (two buckets
 *    of read bytes, by when they were read): its packets may wait on something slow (aedes waits up to
 *    drain-timeout to write to a peer that reads nothing), and when the store stalls the hub still reads
 *    `limit` bytes per `span`.
 *
 * aedes asks for a chunk with `conn.read(null)` once the last one is handled; Node's own `read(0)`
 * (filling the stream's buffer up to its high-water mark) is let through.
 */
export function readGate(limit: number, onWait: () => void, span = 100): ReadGate {
  let epoch = 0
  let current = 0 // bytes read in this span and not handled yet
  let previous = 0 // the same, of the span before; older ones no longer count
  const waiting: Gated[] = []
  let immediate = false
  let timer: NodeJS.Timeout | undefined

  const advance = () => {
    const e = Math.floor(performance.now() / span)
    if (e === epoch) return
    previous = e === epoch + 1 ? current : 0
    current = 0
    epoch = e
  }
  const held = () => current + previous
  const forget = (conn: Gated) => {
    const h = conn[HELD]
    if (!h) return
    conn[HELD] = 0
    if (conn[EPOCH] === epoch) current -= h
    else if (conn[EPOCH] === epoch - 1) previous -= h
  }

  /** Lets the waiting connections read in turn while there is room; with none, looks again when the oldest bytes stop counting. */
  const drain = () => {
    immediate = false
    timer = undefined
    advance()
    while (waiting.length > 0 && held() < limit) {
      const conn = waiting.shift()!
      conn[QUEUED] = false
      if (conn.destroyed) continue
      conn[PASS] = true
      conn.client?._nextBatch()
      conn[PASS] = false
    }
    schedule()
  }
  const schedule = () => {
    if (waiting.length === 0 || immediate) return
    if (held() < limit) {
      immediate = true
      if (timer) { clearTimeout(timer); timer = undefined }
      setImmediate(drain)
    } else if (!timer) {
      timer = setTimeout(drain, span)
      timer.unref()
    }
  }

  function read(this: Gated, n?: number | null): unknown {
    const base = Object.getPrototypeOf(this) as Duplex
    if (n !== null) return base.read.call(this, n)
    advance()
    forget(this)
    if (this[PASS]) {
      this[PASS] = false
    } else if (this[QUEUED]) {
      return null
    } else if (waiting.length > 0 || held() >= limit) {
      // Behind those already waiting, so that every connection gets its turn.
      this[QUEUED] = true
      waiting.push(this)
      onWait()
      schedule()
      return null
    }
    const buf = base.read.call(this, null as unknown as undefined) as Buffer | string | null
    if (buf !== null) {
      const h = Math.min(buf.length, limit / 4)
      this[HELD] = h
      this[EPOCH] = epoch
      current += h
    }
    schedule()
    return buf
  }

  function parse(this: Parser, buf: Buffer): unknown {
    const out = (Object.getPrototypeOf(this) as Parser).parse.call(this, buf)
    // No packet of this chunk (or of the ones read while its packets were handled at once) is pending.
    if (this.client._parsingBatch === 0 && this.client.conn[HELD]) {
      advance()
      forget(this.client.conn)
      schedule()
    }
    return out
  }

  return {
    gate(conn) {
      // Nothing else per connection, not even a listener: what a closed one read stops counting with its span.
      ;(conn as Gated).read = read as Duplex['read']
      const parser = (conn as Gated).client?._parser
      if (parser) parser.parse = parse
    },
    release(conn) {
      advance()
      forget(conn as Gated)
      schedule()
    },
  }
}
