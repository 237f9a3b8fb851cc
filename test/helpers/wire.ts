import { connect, type Socket } from 'node:net'

/**
 * MQTT 3.1.1 on the wire, by hand: the fuzz and idle-connection tests need packets no library would
 * send, and the benchmark needs thousands of connections cheaper than MQTT.js clients.
 */

function varint(n: number): Buffer {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Buffer.from(out)
}

const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
const packet = (first: number, body: Buffer) => Buffer.concat([Buffer.from([first]), varint(body.length), body])

export interface ConnectOptions {
  clientId: string
  username?: string
  password?: string
  keepalive?: number
  clean?: boolean
  will?: { topic: string; payload: string; qos?: number; retain?: boolean }
  /** Protocol name and level: MQTT 3.1.1 ('MQTT', 4) unless given, e.g. MQTT 3.1 ('MQIsdp', 3). */
  protocol?: { name: string; level: number }
}

export const wire = {
  connect(o: ConnectOptions): Buffer {
    let flags = o.clean === false ? 0 : 0x02
    if (o.will) flags |= 0x04 | ((o.will.qos ?? 0) << 3) | (o.will.retain ? 0x20 : 0)
    if (o.username !== undefined) flags |= 0x80
    if (o.password !== undefined) flags |= 0x40
    const parts: Buffer[] = [str(o.protocol?.name ?? 'MQTT'), Buffer.from([o.protocol?.level ?? 4, flags]), u16(o.keepalive ?? 60), str(o.clientId)]
    if (o.will) parts.push(str(o.will.topic), str(o.will.payload))
    if (o.username !== undefined) parts.push(str(o.username))
    if (o.password !== undefined) parts.push(str(o.password))
    return packet(0x10, Buffer.concat(parts))
  },
  publish(topic: string, payload: Buffer | string, qos = 0, retain = false, id = 1, dup = false): Buffer {
    const body: Buffer[] = [str(topic)]
    if (qos > 0) body.push(u16(id))
    body.push(typeof payload === 'string' ? Buffer.from(payload) : payload)
    return packet(0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0), Buffer.concat(body))
  },
  puback: (id: number) => packet(0x40, u16(id)),
  pubrec: (id: number) => packet(0x50, u16(id)),
  pubrel: (id: number) => packet(0x62, u16(id)),
  pubcomp: (id: number) => packet(0x70, u16(id)),
  subscribeMany: (id: number, filters: [string, number][]) => packet(0x82, Buffer.concat([u16(id), ...filters.map(([t, q]) => Buffer.concat([str(t), Buffer.from([q])]))])),
  subscribe: (id: number, topic: string, qos = 0) => packet(0x82, Buffer.concat([u16(id), str(topic), Buffer.from([qos])])),
  unsubscribe: (id: number, topic: string) => packet(0xa2, Buffer.concat([u16(id), str(topic)])),
  pingreq: () => Buffer.from([0xc0, 0]),
  disconnect: () => Buffer.from([0xe0, 0]),
}

export interface Packet { type: number; flags: number; body: Buffer }

/** Splits a byte stream into MQTT packets. */
export class PacketReader {
  private buf: Buffer = Buffer.alloc(0)
  push(chunk: Buffer, onPacket: (p: Packet) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    for (;;) {
      if (this.buf.length < 2) return
      let len = 0
      let mul = 1
      let i = 1
      for (;; i++) {
        if (i >= this.buf.length) return
        const b = this.buf[i]
        len += (b & 0x7f) * mul
        mul *= 128
        if (!(b & 0x80)) break
      }
      const end = i + 1 + len
      if (this.buf.length < end) return
      onPacket({ type: this.buf[0] >> 4, flags: this.buf[0] & 0x0f, body: this.buf.subarray(i + 1, end) })
      this.buf = this.buf.subarray(end)
    }
  }
}

export interface Message { topic: string; payload: Buffer; qos: number; retain: boolean }

/** A connection speaking the packets above: QoS 1 publishes resolve at their PUBACK. */
export class WireClient {
  private readonly reader = new PacketReader()
  private readonly acks = new Map<number, (acked: boolean) => void>()
  private nextId = 1
  private ping?: NodeJS.Timeout
  /**
   * Messages that came before anyone listened, handed to the first listener: a resumed session's queue can
   * arrive in the same segment as its CONNACK, before the code after `await WireClient.open(…)` runs.
   */
  private early: Message[] = []
  private listener?: (m: Message) => void
  get onMessage(): (m: Message) => void {
    return this.listener ?? ((m) => { if (this.early.length < 10_000) this.early.push(m) })
  }
  set onMessage(listener: (m: Message) => void) {
    this.listener = listener
    for (const m of this.early.splice(0)) listener(m)
  }
  closed: Promise<void>

  private constructor(readonly sock: Socket) {
    this.closed = new Promise((r) => sock.once('close', () => r()))
  }

  /** Connects and resolves after CONNACK 0; rejects with the return code otherwise. */
  static open(port: number, o: ConnectOptions & { host?: string }): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, o.host ?? '127.0.0.1')
      sock.setNoDelay(true)
      const c = new WireClient(sock)
      let connected = false
      sock.on('error', (err) => { if (!connected) reject(err) })
      sock.on('close', () => {
        if (!connected) reject(new Error('closed before CONNACK'))
        for (const ack of c.acks.values()) ack(false) // nothing more will come
        c.acks.clear()
        clearInterval(c.ping)
      })
      sock.on('connect', () => sock.write(wire.connect(o)))
      sock.on('data', (b) => c.reader.push(b, (p) => {
        if (p.type === 2) {
          if (p.body[1] !== 0) { reject(new Error(`CONNACK ${p.body[1]}`)); sock.destroy(); return }
          connected = true
          if (o.keepalive) c.ping = setInterval(() => sock.write(wire.pingreq()), (o.keepalive * 1000) / 2)
          resolve(c)
        } else c.handle(p)
      }))
    })
  }

  private handle(p: Packet): void {
    if (p.type === 4 || p.type === 9) { // PUBACK, SUBACK
      const id = p.body.readUInt16BE(0)
      const ack = this.acks.get(id)
      this.acks.delete(id)
      ack?.(true)
    } else if (p.type === 3) { // PUBLISH
      const qos = (p.flags >> 1) & 3
      const tlen = p.body.readUInt16BE(0)
      const topic = p.body.toString('utf8', 2, 2 + tlen)
      let off = 2 + tlen
      if (qos > 0) { this.sock.write(wire.puback(p.body.readUInt16BE(off))); off += 2 }
      this.onMessage({ topic, payload: p.body.subarray(off), qos, retain: (p.flags & 1) === 1 })
    }
  }

  private id(): number {
    const id = this.nextId
    this.nextId = id >= 65535 ? 1 : id + 1
    return id
  }

  /** QoS 0 resolves true once written; QoS 1 true at its PUBACK, false if the connection closes first. */
  publish(topic: string, payload: Buffer | string, qos = 1, retain = false): Promise<boolean> {
    if (qos === 0) { this.sock.write(wire.publish(topic, payload, 0, retain)); return Promise.resolve(true) }
    const id = this.id()
    return new Promise((resolve) => {
      this.acks.set(id, resolve)
      this.sock.write(wire.publish(topic, payload, qos, retain, id))
    })
  }

  subscribe(topic: string, qos = 1): Promise<void> {
    const id = this.id()
    return new Promise((resolve) => { this.acks.set(id, () => resolve()); this.sock.write(wire.subscribe(id, topic, qos)) })
  }

  close(): Promise<void> {
    clearInterval(this.ping)
    if (!this.sock.destroyed) this.sock.end(wire.disconnect())
    return this.closed
  }
}

/** A decoded PUBLISH as it came off the wire. */
export interface WirePublish { topic: string; payload: Buffer; qos: number; retain: boolean; dup: boolean; id?: number }

export function decodePublish(p: Packet): WirePublish {
  const qos = (p.flags >> 1) & 3
  const tlen = p.body.readUInt16BE(0)
  const topic = p.body.toString('utf8', 2, 2 + tlen)
  let off = 2 + tlen
  let id: number | undefined
  if (qos > 0) { id = p.body.readUInt16BE(off); off += 2 }
  return { topic, payload: p.body.subarray(off), qos, retain: (p.flags & 1) === 1, dup: (p.flags & 8) === 8, id }
}

export const PacketType = { CONNACK: 2, PUBLISH: 3, PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7, SUBACK: 9, UNSUBACK: 11, PINGRESP: 13 } as const

/**
 * A connection that does nothing by itself: every packet the broker sends is kept in order and
 * answered only by the test (no automatic PUBACK, no pings), so the test sees each flow as the
 * broker runs it. For conformance tests, where a client library would hide a broker's fault.
 */
export class RawClient {
  private readonly reader = new PacketReader()
  private readonly inbox: Packet[] = []
  private wake: () => void = () => {}
  closed: Promise<void>
  isClosed = false
  /** The type of every packet received, in the order it came (what next() takes stays listed here). */
  readonly arrived: number[] = []

  private constructor(readonly sock: Socket) {
    this.closed = new Promise((r) => sock.once('close', () => { this.isClosed = true; this.wake(); r() }))
    sock.on('error', () => { /* seen as the close that follows */ })
    sock.on('data', (b) => this.reader.push(b, (p) => { this.arrived.push(p.type); this.inbox.push(p); this.wake() }))
  }

  /** Opens a TCP connection and sends `first` (usually a CONNECT). */
  static open(port: number, first?: Buffer): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, '127.0.0.1')
      sock.setNoDelay(true)
      sock.once('error', reject)
      sock.once('connect', () => {
        sock.off('error', reject)
        const c = new RawClient(sock)
        if (first) sock.write(first)
        resolve(c)
      })
    })
  }

  /** Opens, sends CONNECT and returns the CONNACK's [session present, return code]. */
  static async connect(port: number, o: ConnectOptions): Promise<{ client: RawClient; sessionPresent: number; rc: number }> {
    const client = await RawClient.open(port, wire.connect(o))
    const ack = await client.next(PacketType.CONNACK)
    return { client, sessionPresent: ack.body[0] & 1, rc: ack.body[1] }
  }

  send(b: Buffer): void { if (!this.sock.destroyed) this.sock.write(b) }

  /** The next packet of that type (earlier packets of other types stay queued); rejects if the connection closes first. */
  async next(type: number, timeoutMs = 10_000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.inbox.findIndex((p) => p.type === type)
      if (i >= 0) return this.inbox.splice(i, 1)[0]
      if (this.isClosed) throw new Error(`connection closed before packet type ${type}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no packet of type ${type} within ${timeoutMs} ms`)
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.wake = () => { clearTimeout(t); r() } })
    }
  }

  /** Every PUBLISH received so far, in order, taken off the queue. */
  takePublishes(): WirePublish[] {
    const out: WirePublish[] = []
    for (let i = 0; i < this.inbox.length;) {
      if (this.inbox[i].type === PacketType.PUBLISH) out.push(decodePublish(this.inbox.splice(i, 1)[0]))
      else i++
    }
    return out
  }

  /** Subscribes and returns the SUBACK's return codes, one per filter. */
  async subscribe(id: number, ...filters: [string, number][]): Promise<number[]> {
    this.send(wire.subscribeMany(id, filters))
    const ack = await this.next(PacketType.SUBACK)
    assertId(ack, id)
    return [...ack.body.subarray(2)]
  }

  /**
   * Proves that everything the broker would deliver before now has arrived: publishes a marker on
   * `topic` (which this client must be subscribed to at QoS 0) and waits for it. Brokers deliver one
   * publisher's messages to one subscriber in order (MQTT-4.6.0-6), so what is missing then never came.
   */
  async settle(topic: string, from?: RawClient): Promise<WirePublish[]> {
    const marker = `settle-${Math.random().toString(36).slice(2)}`
    ;(from ?? this).send(wire.publish(topic, marker, 0))
    const seen: WirePublish[] = []
    for (;;) {
      const p = decodePublish(await this.next(PacketType.PUBLISH))
      if (p.topic === topic && p.payload.toString() === marker) return seen
      seen.push(p)
    }
  }

  /** Resolves true when the broker closes the connection within the time. */
  async closedWithin(ms: number): Promise<boolean> {
    if (this.isClosed) return true
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])
  }

  end(): Promise<void> {
    if (!this.sock.destroyed) this.sock.end(wire.disconnect())
    return this.closed
  }

  /** Drops the TCP connection without DISCONNECT, as a phone losing coverage would. */
  destroy(): Promise<void> {
    this.sock.destroy()
    return this.closed
  }
}

function assertId(p: Packet, id: number): void {
  if (p.body.readUInt16BE(0) !== id) throw new Error(`packet type ${p.type} for id ${p.body.readUInt16BE(0)}, expected ${id}`)
}
