import type { Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'
import type { Aedes, AedesOptions, Client, PublishPacket } from 'aedes'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import { topicMatches } from '../access/topic-match.js'
import { clientName, describePublish, peerOf } from './describe.js'

/** The broker's limits (config keys of the same names; 0 switches one off). */
export interface Limits {
  maxConnections: number
  maxPayload: number
  publishRate: number
  maxQueuedBytes: number
  /** Before login: the largest CONNECT, and how many connections may wait for theirs, in all and per address. */
  maxConnectBytes: number
  maxPending: number
  maxPendingPerAddress: number
}

/** Connections held now, and what they carried (closed ones included). */
export interface ConnectionCounts {
  open(): number
  /** Connections that have not logged in yet. */
  pending(): number
  bytes(): { in: number; out: number }
}

/** What aedes hands a client's delivery functions (the parts the hub reads). */
export interface DeliveredPacket { topic: string; qos: number; brokerId?: string | null }
export type Deliver = (packet: DeliveredPacket, cb: () => void) => void
interface AedesClient {
  conn: Socket
  deliver0: Deliver
  deliverQoS: Deliver
  _parser: { packet: { cmd?: string; length: number }; connectSeen?: boolean; _parseLength(): boolean; _emitError(e: Error): void }
}

/** The largest PUBLISH that can still carry a payload of `maxPayload`: fixed header, 64 kB topic, message id. */
const packetCeiling = (maxPayload: number) => maxPayload + 2 + 65_535 + 2

const ids = new WeakMap<object, number>()
let nextId = 0

/** A connection's set in `pending`, and its address, while it has not logged in (fields of the socket, not a closure). */
const WAITING = Symbol('waiting')
const ADDRESS = Symbol('address')
type Watched = Socket & { [WAITING]?: Set<Socket>; [ADDRESS]?: string }

/** The connection's number, for log lines that must be tied together (`conn=17`). */
export function connId(client: Client): number | undefined {
  return ids.get(client)
}

/**
 * Applies the per-connection limits where aedes creates its client for a new connection, so every
 * listener (TCP, TLS, WebSocket) gets them:
 *  - max connections: a connection over the limit is closed before it is read;
 *  - before login, a peer can make the hub hold only little: connections that have not logged in yet
 *    are capped per address (max-pending-per-address) and in all (max-pending, so that most of
 *    max-connections always stays for clients that log in), a CONNECT over max-connect-bytes closes the
 *    connection as soon as its length is read, and connect-timeout (aedes' connectTimeout) ends those
 *    that take too long;
 *  - packet size: a packet too big to be a PUBLISH within max-payload closes the connection as soon as
 *    its length is known, before it is buffered;
 *  - slow subscribers: aedes waits for each receiver's socket before it moves on to the next message
 *    (up to drainTimeout), so one frozen subscriber stalled every other one. Live deliveries are handed
 *    to the socket and released at once instead; a receiver with more than max-queued-bytes waiting is
 *    disconnected (a persistent session keeps what it has not acknowledged). Retained messages sent on
 *    SUBSCRIBE (no brokerId) keep aedes' own backpressure: they are that receiver's business only.
 *    That step is liveDeliveries below, which every delivery goes through (client-delivery.ts).
 */
export function guardConnections(aedes: Aedes, limits: Limits, stats: Stats, log: Logger): ConnectionCounts {
  const live = new Set<Socket>()
  /** Connections not logged in yet, per address. */
  const pending = new Map<string, Set<Socket>>()
  let pendingTotal = 0
  let lastPendingLog = 0
  let pendingSinceLog = 0
  let closedIn = 0
  let closedOut = 0
  let lastRefusalLog = 0
  let refusedSinceLog = 0
  const handle = aedes.handle.bind(aedes) as (conn: Socket, req?: { socket?: Socket }) => Client

  ;(aedes as unknown as { handle: typeof handle }).handle = (conn, req) => {
    const sock = req?.socket ?? conn
    if (limits.maxConnections > 0 && live.size >= limits.maxConnections) {
      stats.connectionsRefused++
      refusedSinceLog++
      // A flood of refusals must not flood the log: one line per 10 s says how many.
      if (Date.now() - lastRefusalLog > 10_000) {
        log.warn(`Refused ${refusedSinceLog} connection(s), the last from ${peerOf({ conn: sock } as unknown as Client)}: ${live.size} are open, the max-connections limit; raise it with --max-connections.`)
        lastRefusalLog = Date.now()
        refusedSinceLog = 0
      }
      conn.destroy()
      return undefined as unknown as Client
    }
    const addr = (sock.remoteAddress ?? '').replace(/^::ffff:/, '')
    const mine = pending.get(addr)
    const overAddress = limits.maxPendingPerAddress > 0 && (mine?.size ?? 0) >= limits.maxPendingPerAddress
    if (overAddress || (limits.maxPending > 0 && pendingTotal >= limits.maxPending)) {
      stats.pendingRefused++
      pendingSinceLog++
      if (Date.now() - lastPendingLog > 10_000) {
        log.warn(overAddress
          ? `Refused ${pendingSinceLog} connection(s) before login, the last from ${addr}: ${limits.maxPendingPerAddress} from there have not logged in yet, the max-pending-per-address limit.`
          : `Refused ${pendingSinceLog} connection(s) before login, the last from ${addr}: ${pendingTotal} connections have not logged in yet, the max-pending limit.`)
        lastPendingLog = Date.now()
        pendingSinceLog = 0
      }
      conn.destroy()
      return undefined as unknown as Client
    }
    const waiting = mine ?? new Set<Socket>()
    if (!mine) pending.set(addr, waiting)
    waiting.add(sock)
    pendingTotal++
    live.add(sock)
    ;(sock as Watched)[WAITING] = waiting
    ;(sock as Watched)[ADDRESS] = addr
    // One listener shared by every connection (`this` is the socket): a closure per connection, and
    // once()'s wrapper, would cost every idle phone memory for the whole time it stays connected.
    sock.on('close', onClose)
    const client = handle(conn, req)
    ids.set(client, ++nextId)
    const c = client as unknown as AedesClient
    c._parser._parseLength = parseLength
    ;(c.conn as Corkable)[CORKED] = false
    c.conn.write = corkedWrite as Socket['write']
    c.conn.destroy = uncorkedDestroy as Socket['destroy']
    return client
  }

  /** A connection has logged in, or gone: it no longer counts against the limits before login. */
  const loggedIn = (sock: Watched) => {
    const waiting = sock[WAITING]
    if (!waiting) return
    const addr = sock[ADDRESS]!
    sock[WAITING] = sock[ADDRESS] = undefined
    waiting.delete(sock)
    pendingTotal--
    if (waiting.size === 0 && pending.get(addr) === waiting) pending.delete(addr)
  }
  function onClose(this: Watched) {
    loggedIn(this)
    live.delete(this)
    closedIn += this.bytesRead ?? 0
    closedOut += this.bytesWritten ?? 0
  }
  const parseLength = packetSizeGuard(limits)

  aedes.on('client', (client: Client) => {
    const conn = (client as unknown as AedesClient).conn
    // Over WebSocket the connection counted is the TCP socket under the stream aedes reads.
    loggedIn(((client as unknown as { req?: { socket?: Socket } }).req?.socket ?? conn) as Watched)
  })
  let bytesAt: number | undefined
  let bytesSeen = { in: 0, out: 0 }

  return {
    pending: () => pendingTotal,
    open: () => live.size,
    bytes: () => {
      // Asking every socket (bytesWritten copies its write queue) takes 3-16 ms with 2,000 phones, and
      // $SYS and a /metrics scrape each ask more than once: one walk a second answers them all.
      const now = performance.now()
      if (bytesAt !== undefined && now - bytesAt < 1000) return bytesSeen
      let i = closedIn
      let o = closedOut
      for (const s of live) { i += s.bytesRead ?? 0; o += s.bytesWritten ?? 0 }
      bytesAt = now
      bytesSeen = { in: i, out: o }
      return bytesSeen
    },
  }
}

/**
 * The parsers' length check with the packet limits, one function for every connection (`this` is the
 * parser; whether its CONNECT was seen is a field of the parser, not a closure per connection).
 */
function packetSizeGuard(limits: Limits): AedesClient['_parser']['_parseLength'] {
  // mqtt-packet exports a factory, not its class: the method is its instances' prototype's.
  const parseLength = (Object.getPrototypeOf(mqttPacket.parser()) as AedesClient['_parser'])._parseLength
  const ceiling = limits.maxPayload > 0 ? packetCeiling(limits.maxPayload) : Infinity
  const connectMax = limits.maxConnectBytes > 0 ? limits.maxConnectBytes : Infinity
  return function (this: AedesClient['_parser']) {
    const ok = parseLength.call(this)
    if (!ok) return ok
    const first = !this.connectSeen
    if (this.packet.cmd === 'connect') this.connectSeen = true
    if (this.packet.cmd === 'connect' && this.packet.length > connectMax) {
      this._emitError(new Error(`a connect packet of ${this.packet.length} bytes, more than max-connect-bytes ${limits.maxConnectBytes}`))
    } else if (this.packet.length > ceiling) {
      this._emitError(new Error(`a ${this.packet.cmd ?? ''} packet of ${this.packet.length} bytes, more than max-payload ${limits.maxPayload} allows`))
    } else if (first && this.packet.cmd !== 'connect' && this.packet.length > connectMax) {
      // A connection starts with its CONNECT; a big packet before it only wants the memory.
      this._emitError(new Error(`a ${this.packet.cmd ?? ''} packet of ${this.packet.length} bytes before CONNECT`))
    }
    return ok
  }
}

const noop = () => {}

/** A delivery step: hands `packet` to the client's own delivery function `inner` (deliver0 or deliverQoS). */
export type LiveDelivery = (c: { conn: Socket }, inner: Deliver, packet: DeliveredPacket, cb: () => void) => void

/**
 * The slow-subscriber limit, as a step of every delivery (client-delivery.ts): a live message (one with a
 * brokerId) is handed to the socket and its callback called at once, and a receiver with more than
 * max-queued-bytes waiting is cut off. Retained messages sent on SUBSCRIBE keep aedes' own backpressure.
 */
export function liveDeliveries(maxQueued: number, stats: Stats): LiveDelivery {
  return (c, inner, packet, cb) => {
    if (!packet.brokerId) return inner(packet, cb)
    let waiting = c.conn.writableLength
    // What this turn corked is not the receiver's backlog: hand it to the socket, then judge what is left.
    if (maxQueued > 0 && waiting > maxQueued) { sendCorked(c.conn); waiting = c.conn.writableLength }
    if (maxQueued > 0 && waiting > maxQueued) {
      if (!c.conn.destroyed) {
        stats.slowConsumers++
        c.conn.destroy(new Error(`${waiting} bytes waiting to be sent, more than max-queued-bytes ${maxQueued}: a frozen or too slow subscriber (a persistent session keeps the rest)`))
      }
      return cb()
    }
    inner(packet, noop)
    cb()
  }
}

/*
 * One write per connection per turn of the event loop. aedes writes every packet on its own (mqtt-packet
 * corks only the parts of one packet), so a phone got each PUBACK of a group commit, and a subscriber each
 * delivery, as a syscall of its own. The first write of a turn corks the socket until the turn's
 * immediates run, which is the same turn: nothing waits for a later event, and back-pressure is unchanged
 * (write() still answers from the buffered length). end() and destroy() send what is corked first.
 * The functions are shared by every connection (`this` is the stream, whether it is corked a field of it),
 * the original write and destroy those of its class.
 */
const CORKED = Symbol('corked')
type Corkable = Socket & { [CORKED]?: boolean }

function sendCorked(conn: Corkable): void {
  if (!conn[CORKED]) return
  conn[CORKED] = false
  conn.uncork()
}

function corkedWrite(this: Corkable, ...args: Parameters<Socket['write']>): boolean {
  if (!this[CORKED] && !this.destroyed) { this[CORKED] = true; this.cork(); setImmediate(sendCorked, this) }
  return (Object.getPrototypeOf(this) as Socket).write.apply(this, args)
}

// A refusal is written and the socket destroyed in one go (CONNACK 1 for an unknown protocol level):
// what is corked goes out first, as it would have without the cork.
function uncorkedDestroy(this: Corkable, ...args: Parameters<Socket['destroy']>): Socket {
  sendCorked(this)
  return (Object.getPrototypeOf(this) as Socket).destroy.apply(this, args)
}

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>
type AuthorizeForward = NonNullable<AedesOptions['authorizeForward']>

/**
 * The publish limits, in front of the access/ingest hook:
 *  - max-payload: like Mosquitto's message_size_limit, a bigger payload is acknowledged and dropped,
 *    so a phone does not send it again forever;
 *  - publish-rate: a client publishing faster is answered later (a token bucket allowing one second's
 *    burst). Its next packets are read only after this one is handled, so TCP slows it down and nothing
 *    is lost; `slowed` tells the read gate that it waits on purpose. Wills (no client) are never limited.
 */
export function limitPublishes(inner: AuthorizePublish, limits: Limits, drop: WeakSet<object>, stats: Stats, log: Logger, slowed: (client: Client) => void): AuthorizePublish {
  const buckets = new WeakMap<Client, { due: number; warned: number }>()
  const interval = limits.publishRate > 0 ? 1000 / limits.publishRate : 0
  return (client, packet, done) => {
    if (!client) return inner(client, packet, done)
    const size = packet.payload ? (typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length) : 0
    if (limits.maxPayload > 0 && size > limits.maxPayload) {
      stats.droppedTooLarge++
      log.warn(`Dropped too large PUBLISH from ${clientName(client)} ${describePublish(packet as PublishPacket)}: more than max-payload ${limits.maxPayload} bytes.`)
      drop.add(packet)
      return done(null)
    }
    if (interval === 0) return inner(client, packet, done)
    const now = performance.now()
    let b = buckets.get(client)
    if (!b) { b = { due: now, warned: -Infinity }; buckets.set(client, b) }
    b.due = Math.max(b.due, now) + interval
    const wait = b.due - now - 1000
    if (wait <= 0) return inner(client, packet, done)
    stats.publishesThrottled++
    if (now - b.warned > 60_000) {
      b.warned = now
      log.warn(`Client ${clientName(client)} publishes faster than publish-rate ${limits.publishRate}/s: slowing it down (nothing is dropped).`)
    }
    slowed(client)
    setTimeout(() => inner(client, packet, done), wait)
  }
}

/**
 * Counts deliveries, and keeps `$` topics where they belong:
 *  - aedes' own `$SYS/<broker id>/…` topics (client ids coming and going, heartbeats, used among the
 *    brokers of a cluster) reach nobody: the hub's $SYS tree is `$SYS/broker/…`;
 *  - a `$` topic reaches only a subscription that names it without a leading wildcard (MQTT-4.7.2-1).
 *    aedes applies that rule to live messages but not to retained ones sent on SUBSCRIBE, so a
 *    subscription to `#` received the whole retained $SYS tree.
 */
export function countForwards(inner: AuthorizeForward, stats: Stats): AuthorizeForward {
  return (client, packet) => {
    if (packet.topic.startsWith('$')) {
      if (packet.topic.startsWith('$SYS/') && !packet.topic.startsWith('$SYS/broker/')) return null
      const subs = Object.keys((client as unknown as { subscriptions: object }).subscriptions)
      if (!subs.some((f) => f[0] !== '#' && f[0] !== '+' && topicMatches(f, packet.topic))) return null
    }
    const out = inner(client, packet)
    if (out) stats.messagesOut++
    return out
  }
}
