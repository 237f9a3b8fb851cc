import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { AedesPublishPacket } from 'aedes'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { topicMatches } from '../access/topic-match.js'
import type { Logger } from '../log.js'
import type { Broker } from '../mqtt/broker.js'
import type { Stats } from '../stats.js'
import type { BridgeConfig, BridgeTopic } from './config.js'

/** QoS 1/2 messages kept for the remote broker while it is unreachable (Mosquitto's max_queued_messages). */
const MAX_QUEUED = 1000
/** How long a message we sent out is remembered, to recognise it if the remote broker sends it back. */
const ECHO_MS = 30_000

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void

/**
 * One bridge connection, the way Mosquitto runs one: an MQTT client of the remote broker that
 * subscribes there to the `in` topics and publishes the `out` topics it sees here.
 *
 * No loops: what comes in is published here tagged with this bridge as origin, and the outgoing side
 * skips anything with that tag; what goes out is remembered briefly and dropped if the remote broker
 * echoes it (it should not: with try_private we announce ourselves as a bridge, and Mosquitto then
 * keeps our own messages from us, but another broker may not).
 *
 * Reconnects with exponential backoff from restart_timeout's base to its cap, with jitter so several
 * hubs do not hammer a recovering broker in step. State: log lines, `$SYS/broker/connection/<id>/state`
 * (1 up, 0 down, retained, as Mosquitto publishes it) and the bridge's counters in Stats.
 */
export class Bridge {
  private client?: MqttClient
  private retry?: NodeJS.Timeout
  private attempt = 0
  private closed = false
  private queued = 0
  private readonly origin: string
  private readonly echoes = new Map<string, number>()
  private readonly local: { filter: string; fn: Deliver }[] = []
  private readonly counters: { connected: boolean; connects: number; received: number; sent: number; dropped: number }

  get name(): string { return this.c.name }

  constructor(private readonly c: BridgeConfig, private readonly broker: Broker, stats: Stats, private readonly log: Logger) {
    this.origin = `$bridge/${c.name}`
    this.counters = { connected: false, connects: 0, received: 0, sent: 0, dropped: 0 }
    stats.bridges.set(c.name, this.counters)
  }

  start(): void {
    for (const t of this.c.topics) {
      if (t.direction === 'in') continue
      const filter = t.localPrefix + t.pattern
      const fn: Deliver = (packet, cb) => { this.outgoing(t, filter, packet); cb() }
      this.local.push({ filter, fn })
      this.broker.aedes.subscribe(filter, fn as never, () => {})
    }
    this.client = mqtt.connect(this.options())
    if (this.c.tryPrivate) {
      // Mosquitto's "I am a bridge" bit (protocol byte 0x84): mqtt-packet writes it for `bridgeMode`, which
      // MQTT.js does not pass on; it emits the CONNECT packet just before writing it, so we add it there.
      this.client.on('packetsend', (packet) => { if (packet.cmd === 'connect') (packet as { bridgeMode?: boolean }).bridgeMode = true })
    }
    this.client.on('connect', () => this.connected())
    this.client.on('close', () => this.disconnected())
    this.client.on('error', (err) => this.log.warn(`Bridge ${this.c.name}: ${err.message}${/not authori[sz]ed|bad user/i.test(err.message) ? ' (check remote_username / remote_password)' : ''}.`))
    this.client.on('message', (topic, payload, packet) => this.incoming(topic, payload, packet.qos, packet.retain))
    this.log.info(`Connecting bridge ${this.c.name} to ${this.c.addresses.map((a) => `${a.host}:${a.port}`).join(', ')} as ${this.c.clientId}.`)
    this.client.connect()
  }

  private options(): IClientOptions {
    const c = this.c
    const tls = c.cafile !== undefined
    const read = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f))
    return {
      servers: c.addresses.map((a) => ({ host: a.host, port: a.port, protocol: tls ? 'mqtts' : 'mqtt' })),
      host: c.addresses[0].host,
      port: c.addresses[0].port,
      protocol: tls ? 'mqtts' : 'mqtt',
      protocolVersion: 4,
      manualConnect: true, // so the bridge bit can be set on the very first CONNECT
      clientId: c.clientId,
      clean: c.cleanSession,
      keepalive: c.keepalive,
      username: c.username,
      password: c.password,
      reconnectPeriod: 0, // we pace reconnects ourselves (backoff)
      resubscribe: false, // we subscribe on every connect
      connectTimeout: 15_000,
      ca: read(c.cafile),
      cert: read(c.certfile),
      key: read(c.keyfile),
      rejectUnauthorized: true,
      ...(c.insecure ? { checkServerIdentity: () => undefined } : {}),
    }
  }

  private connected(): void {
    this.attempt = 0
    this.queued = 0
    this.counters.connected = true
    this.counters.connects++
    const remote = this.client!.options
    this.log.info(`Bridge ${this.c.name} connected to ${remote.host}:${remote.port}.`)
    const subs: Record<string, { qos: 0 | 1 | 2 }> = {}
    for (const t of this.c.topics) if (t.direction !== 'out') subs[t.remotePrefix + t.pattern] = { qos: t.qos }
    if (Object.keys(subs).length > 0) {
      this.client!.subscribe(subs, (err) => { if (err) this.log.warn(`Bridge ${this.c.name}: subscribing at the remote broker failed: ${err.message}.`) })
    }
    this.notify('1')
  }

  private disconnected(): void {
    if (this.counters.connected) {
      this.counters.connected = false
      this.log.warn(`Bridge ${this.c.name} lost its connection; reconnecting.`)
      this.notify('0')
    }
    if (this.closed) return
    const { base, cap } = this.c.restart
    const wait = Math.min(cap, base * 2 ** this.attempt) * (0.5 + Math.random() / 2)
    this.attempt++
    clearTimeout(this.retry)
    this.retry = setTimeout(() => {
      const client = this.client
      // reconnect() starts with empty stores unless given the old ones, which hold what waits for the remote broker
      if (client && !this.closed) client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore })
    }, wait * 1000)
    this.retry.unref()
  }

  /** A local message on an `out` topic: to the remote broker, unless it came from there. */
  private outgoing(t: BridgeTopic, filter: string, packet: AedesPublishPacket): void {
    if ((packet as { clientId?: string }).clientId === this.origin) return
    if (!topicMatches(filter, packet.topic)) return // `#` reaches $SYS in aedes, but not in MQTT
    const topic = t.remotePrefix + packet.topic.slice(t.localPrefix.length)
    const qos = Math.min(t.qos, packet.qos) as 0 | 1 | 2
    const client = this.client
    if (!client) return
    if (!client.connected) {
      if (qos === 0 || this.queued >= MAX_QUEUED) { this.counters.dropped++; return }
      this.queued++ // MQTT.js holds it until the connection is back
    }
    const payload = toBuffer(packet.payload)
    this.remember(topic, payload)
    client.publish(topic, payload, { qos, retain: packet.retain }, (err) => {
      if (err) { this.counters.dropped++; this.log.warn(`Bridge ${this.c.name}: sending '${topic}' failed: ${err.message}.`) } else this.counters.sent++
    })
  }

  /** A remote message on an `in` topic: published here as if a local client had sent it. */
  private incoming(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): void {
    if (this.isEcho(topic, payload)) return
    const t = this.c.topics.find((x) => x.direction !== 'out' && topicMatches(x.remotePrefix + x.pattern, topic))
    if (!t) return
    const local = t.localPrefix + topic.slice(t.remotePrefix.length)
    this.counters.received++
    this.broker.publish({ topic: local, payload, qos: Math.min(qos, t.qos) as 0 | 1 | 2, retain, origin: this.origin }, `bridge ${this.c.name}`)
      .catch((err: Error) => this.log.error(`Bridge ${this.c.name}: publishing '${local}' here failed: ${err.message}.`))
  }

  private remember(topic: string, payload: Buffer): void {
    const now = Date.now()
    if (this.echoes.size > 10_000) for (const [k, at] of this.echoes) if (now - at > ECHO_MS) this.echoes.delete(k)
    this.echoes.set(fingerprint(topic, payload), now)
  }

  private isEcho(topic: string, payload: Buffer): boolean {
    const k = fingerprint(topic, payload)
    const at = this.echoes.get(k)
    if (at === undefined) return false
    this.echoes.delete(k)
    return Date.now() - at <= ECHO_MS
  }

  private notify(state: '0' | '1'): void {
    if (!this.c.notifications) return
    this.broker.publish({ topic: this.c.notificationTopic, payload: Buffer.from(state), qos: 1, retain: true, origin: this.origin }, `bridge ${this.c.name}`)
      .catch((err: Error) => this.log.warn(`Bridge ${this.c.name}: state notification failed: ${err.message}.`))
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    for (const { filter, fn } of this.local) this.broker.aedes.unsubscribe(filter, fn as never, () => {})
    const client = this.client
    // A DISCONNECT for the remote broker, but a stop never waits long for one that is unreachable.
    if (client) await Promise.race([new Promise<void>((r) => client.end(false, {}, () => r())), new Promise<void>((r) => setTimeout(r, 2000).unref())])
    this.notify('0')
  }
}

const fingerprint = (topic: string, payload: Buffer) => createHash('sha1').update(topic).update('\0').update(payload).digest('base64')
const toBuffer = (p: Buffer | string) => (typeof p === 'string' ? Buffer.from(p) : p)
