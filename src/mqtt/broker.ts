import type { IncomingMessage } from 'node:http'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import { Level } from 'level'
import mqttPacket from 'mqtt-packet'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import { peerOf } from './describe.js'
import { connackFirst, releaseAtConnack } from './connack-first.js'
import { leanCloseWatch } from './close-watch.js'
import { leanParser } from './lean-parser.js'
import { deliverThroughHub } from './client-delivery.js'
import { forgetConnectPackets } from './forget-connect.js'
import { createHooks, type HookDeps } from './hooks.js'
import { connId, countForwards, guardConnections, limitPublishes, liveDeliveries, type ConnectionCounts, type LiveDelivery, type Limits } from './limits.js'
import { orderPublishes } from './ordered-publish.js'
import { tracePackets } from './packet-log.js'
import { brokerPersistence } from './persistence.js'
import { dupOnResend } from './resend-dup.js'
import { readGate, type ReadGate } from './read-gate.js'
import { answerUnknownProtocol } from './protocol-level.js'
import type { IngestOutcome } from '../ingest.js'
import type { HubMessage, Publish } from './publish.js'
import { SessionOwners, type SharedOwners } from './session-owners.js'

export interface BrokerOptions extends Omit<HookDeps, 'drop' | 'owners'> {
  /** Directory of the broker's own LevelDB (retained, sessions, in-flight, wills). */
  stateDir: string
  drainTimeout: number
  /** ms a new connection has to send its whole CONNECT packet. */
  connectTimeout: number
  limits: Limits
  /**
   * A cluster's broker state (cluster/redis-broker.ts): persistence and emitter shared by every node,
   * instead of the LevelDB in stateDir.
   */
  shared?: { persistence: unknown; mq: unknown; countRetained(): Promise<number>; close(): Promise<void> }
  /** A cluster's owners of client ids (cluster/client-owners.ts), so no node lets another user take a session. */
  sharedOwners?: SharedOwners
}

/**
 * The general MQTT 3.1/3.1.1 broker: aedes with LevelDB persistence, our policy hooks, Mosquitto-style
 * connection logs, and the ordering fix. Listeners (TCP, TLS, WebSocket) hand it their connections.
 */
export class Broker {
  readonly aedes: Aedes
  readonly hooks: ReturnType<typeof createHooks>
  private readonly db: Level<string, Buffer> | undefined
  private shared: BrokerOptions['shared']
  private readonly servers: Server[] = []
  /** Open connections and their bytes, for $SYS and /metrics. */
  connections!: ConnectionCounts
  /** The slow-subscriber step of every delivery (limits.ts). */
  private live!: LiveDelivery
  /** What all connections have read and not yet handled (read-gate.ts). */
  private readonly reads: ReadGate

  private constructor(aedes: Aedes, db: Level<string, Buffer> | undefined, hooks: ReturnType<typeof createHooks>, reads: ReadGate, private readonly log: Logger, private readonly stats: Stats, private readonly ingest: BrokerOptions['ingest']) {
    this.aedes = aedes
    this.db = db
    this.hooks = hooks
    this.reads = reads
  }

  static async start(o: BrokerOptions): Promise<Broker> {
    // mqtt-packet writes 2-byte numbers (message ids, topic lengths) from a table it builds on the first
    // packet: 65,536 Buffers, 6.4 MB of heap kept for the life of the process. A fresh 2-byte slice of
    // Node's buffer pool per number is cheaper than a Raspberry Pi's memory.
    mqttPacket.writeToStream.cacheNumbers = false
    const db = o.shared ? undefined : new Level<string, Buffer>(o.stateDir, { valueEncoding: 'buffer' })
    await db?.open()
    const drop = new WeakSet<object>()
    const owners = await SessionOwners.load(db, o.log, o.sharedOwners)
    const hooks = createHooks({ ...o, drop, owners })
    const local = o.shared ? undefined : brokerPersistence(db!, o.log)
    const reads = readGate(READ_GATE_BYTES, () => o.stats.readsWaited++)
    const aedes = await Aedes.createBroker({
      ...(o.shared ? { persistence: o.shared.persistence, mq: o.shared.mq } : { persistence: local!.persistence }),
      drainTimeout: o.drainTimeout,
      connectTimeout: o.connectTimeout,
      ...hooks,
      authorizePublish: limitPublishes(hooks.authorizePublish, o.limits, drop, o.stats, o.log, (client) => reads.release((client as unknown as { conn: Duplex }).conn)),
      authorizeForward: countForwards(hooks.authorizeForward, o.stats),
    } as never)
    orderPublishes(aedes, drop)
    dupOnResend((aedes as unknown as { persistence: unknown }).persistence)
    releaseAtConnack(aedes)
    forgetConnectPackets(aedes)
    const b = new Broker(aedes, db, hooks, reads, o.log, o.stats, o.ingest)
    b.retainedCount = local?.retainedCount
    b.shared = o.shared
    b.connections = guardConnections(aedes, o.limits, o.stats, o.log)
    b.live = liveDeliveries(o.limits.maxQueuedBytes, o.stats)
    b.logEvents()
    return b
  }

  private logEvents(): void {
    const a = this.aedes
    a.on('client', (client: Client) => {
      const i = this.hooks.connectInfo(client)
      this.stats.connections++
      this.log.info({ conn: connId(client) }, `New client connected from ${peerOf(client)} as ${client.id} (p${mosquittoProtocol(i?.p ?? client.version)}, c${i?.c ?? (client.clean ? 1 : 0)}, k${i?.k ?? 0}${i?.u !== undefined ? `, u'${i.u}'` : ''}).`)
    })
    a.on('clientDisconnect', (client: Client) => this.log.info({ conn: connId(client) }, `Client ${client.id} disconnected.`))
    // Persistence failures (a full disk) surface here; without a listener they would end the process.
    ;(a as unknown as NodeJS.EventEmitter).on('error', (err: Error) => this.log.error(`Broker: ${err.message}`))
    const logged = new Set(['not authorised', 'identifier rejected', 'server unavailable'])
    a.on('clientError', (client: Client, err: Error) => {
      if (!logged.has(err.message)) this.log.info(`Client ${client.id} connection closed: ${err.message}.`)
    })
    a.on('connectionError', (client: Client, err: Error & { errorCode?: number }) => {
      if (!logged.has(err.message)) this.log.info(`Connection from ${peerOf(client)} closed: ${err.message}.`)
    })
  }

  /** Listens for plain MQTT on a TCP port; resolves with the bound address (port 0 picks one). */
  listenTcp(port: number, host: string): Promise<AddressInfo> {
    return this.track(createServer((sock) => this.accept(sock)), port, host)
  }

  /**
   * Hands a connection from any listener to aedes, logging it as Mosquitto does: a TCP or TLS socket,
   * or a WebSocket stream with the HTTP upgrade request it came from (which knows the peer).
   */
  accept(conn: Duplex, req?: IncomingMessage): void {
    const sock = (req?.socket ?? conn) as Socket
    this.log.info(`New connection from ${peerOf({ conn: sock } as unknown as Client)} on port ${sock.localPort}.`)
    const client = this.aedes.handle(conn as Socket, req as never) as unknown as Client | undefined
    if (!client) return // refused by the connection limits (limits.ts) before aedes made a client
    answerUnknownProtocol(client)
    connackFirst(client)
    leanParser(client)
    leanCloseWatch(client)
    this.reads.gate((client as unknown as { conn: Duplex }).conn)
    deliverThroughHub(client, this.live)
    if (this.log.isLevelEnabled('debug')) tracePackets(client, this.log)
  }

  /** The hub's own publishes (see Publish in publish.ts); aedes keeps `origin` as the packet's clientId. */
  readonly publish: Publish = async (m: HubMessage, from: string): Promise<IngestOutcome> => {
    const outcome = await this.ingest.handle(m.topic, m.payload, from)
    if (outcome.kind === 'refused') return outcome
    const packet = { cmd: 'publish' as const, topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, dup: false, ...(m.origin ? { clientId: m.origin } : {}) }
    await new Promise<void>((resolve, reject) => this.aedes.publish(packet as never, (err?: Error | null) => (err ? reject(err) : resolve())))
    return outcome
  }

  track(server: Server, port: number, host: string): Promise<AddressInfo> {
    this.servers.push(server)
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve(server.address() as AddressInfo)
      })
    })
  }

  /** The broker's own database, for backups and the write guard (store/write-guard.ts); none in a cluster. */
  get level(): Level<string, Buffer> | undefined { return this.db }

  /** How many retained messages the embedded broker holds (mqtt/retained.ts keeps them all in memory). */
  private retainedCount?: () => number

  /** Retained messages stored now, $SYS included. */
  async countRetained(): Promise<number> {
    return this.retainedCount ? this.retainedCount() : this.shared!.countRetained()
  }

  /**
   * Stops accepting, closes clients, closes the DB. A stop is not the phones' doing, so no will is
   * published now (friends would see every phone go offline at each restart); the wills stay stored,
   * and after the next start aedes publishes those of the clients that have not come back within four
   * heartbeats (4 minutes).
   */
  async close(): Promise<void> {
    // server.close() calls back only once its connections are gone, which aedes.close() brings about.
    const stopped = Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
    const clients = (this.aedes as unknown as { clients: Record<string, { will: unknown }> }).clients
    for (const c of Object.values(clients)) c.will = null
    await new Promise<void>((r) => this.aedes.close(() => r()))
    await stopped
    await this.db?.close()
    await this.shared?.close()
  }
}

/**
 * Bytes read from all connections and not yet handled, past which connections are read in turn: ~250
 * locations, a few milliseconds of the hub's work. The bench's 100 phones × 10 in flight cost no more CPU
 * per message behind it, and its 1,000 × 10 no longer bury a subscriber and the HTTP API (bench/RESULTS.md).
 */
const READ_GATE_BYTES = 64 * 1024

/** Mosquitto's protocol numbers in its connection line: p1 MQTT 3.1, p2 MQTT 3.1.1, p5 MQTT 5. */
const mosquittoProtocol = (level: number): number => (level === 3 ? 1 : level === 4 ? 2 : level)
