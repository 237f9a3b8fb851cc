import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { hostname } from 'node:os'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { AccessControl } from './access/access.js'
import type { Config } from './config.js'
import { CommandQueue } from './cmd-queue.js'
import { createApp } from './http/app.js'
import { HttpAuth } from './http/auth.js'
import { SessionStore } from './http/session.js'
import { UpgradeRouter } from './http/upgrade.js'
import { Ingest } from './ingest.js'
import type { Logger } from './log.js'
import { Broker } from './mqtt/broker.js'
import { Stats } from './stats.js'
import { LevelHistory } from './store/history-level.js'
import { answerTourRequests } from './tours/mqtt-requests.js'
import { TourStore } from './tours/store.js'
import { Tours } from './tours/tours.js'
import { UserRegistry, ensureInitialAdmin } from './users/registry.js'

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

export interface Listening { mqtt: AddressInfo; http: AddressInfo }

/**
 * Wires the parts together and owns start and stop. Data flows one way:
 * connection → auth → ACL → decode → store → fan-out → API/map.
 */
export class Hub {
  readonly stats = new Stats()
  users!: UserRegistry
  access!: AccessControl
  history!: LevelHistory
  broker!: Broker
  listening!: Listening
  ingest!: Ingest
  /** cmds waiting for HTTP-mode phones. */
  readonly commands = new CommandQueue()
  /** WebSocket endpoints on the HTTP port register here (see http/upgrade.ts). */
  readonly upgrades = new UpgradeRouter()
  /** HTTP Basic or the map's session: /api/* and WebSocket upgrades (`auth.upgrade(req)`) authenticate here. */
  auth!: HttpAuth
  /** Tours; HTTP mode (POST /pub) answers `request` messages with `tours.handleRequest(user, device, msg)`. */
  tours!: Tours
  private http?: ServerType

  constructor(readonly cfg: Config, readonly log: Logger) {}

  async start(): Promise<Listening> {
    const { cfg, log } = this
    mkdirSync(cfg.data, { recursive: true })
    this.users = UserRegistry.forData(cfg.data, cfg.passwordFile, log)
    const initial = await ensureInitialAdmin(this.users, cfg.data)
    this.access = new AccessControl(cfg.aclDir, cfg.topicBase, log)
    this.access.load()
    this.history = await LevelHistory.open(join(cfg.data, 'history'), { sync: cfg.fsync })
    const ingest = this.ingest = new Ingest(this.history, cfg.topicBase, this.stats, log)
    this.broker = await Broker.start({
      stateDir: join(cfg.data, 'broker'), drainTimeout: cfg.drainTimeout,
      users: this.users, access: this.access, ingest, stats: this.stats, log, allowAnonymous: cfg.allowAnonymous,
    })
    const mqtt = await this.broker.listenTcp(cfg.mqttPort, cfg.host)
    log.info(`listening mqtt ${mqtt.address}:${mqtt.port}`)
    const tourStore = new TourStore(join(cfg.data, 'tours'), log)
    tourStore.load()
    this.tours = new Tours(tourStore, this.history, () => cfg.publicUrl ?? `http://${urlHost(cfg.host)}:${this.listening?.http.port ?? cfg.httpPort}`, log)
    answerTourRequests(this.broker, this.tours, cfg.topicBase, log)
    this.auth = new HttpAuth(this.users, new SessionStore((u) => this.users.passwordStamp(u)))
    const map = {
      tileUrl: cfg.tileUrl, tileAttribution: cfg.tileAttribution, topicBase: cfg.topicBase,
      mqttPort: mqtt.port, mqttsPort: cfg.mqttsPort, live: () => this.upgrades.has('/ws/last'),
    }
    const app = createApp({
      users: this.users, access: this.access, history: this.history, base: cfg.topicBase, version: VERSION, log,
      auth: this.auth, tours: this.tours, map, publicUrl: cfg.publicUrl,
    })
    const http = await new Promise<AddressInfo>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, port: cfg.httpPort, hostname: cfg.host }, (info) => resolve(info as AddressInfo))
      server.once('error', reject)
      this.http = server
      this.upgrades.attach(server as import('node:http').Server)
    })
    log.info(`listening http ${http.address}:${http.port}`)
    this.users.watch()
    this.access.watch()
    this.listening = { mqtt, http }
    if (initial) this.announceAdmin(initial, mqtt)
    log.info(`owntracks-hub ${VERSION} running; data in ${cfg.data}, rules in ${cfg.aclDir}`)
    return this.listening
  }

  /** The password is printed once, when it is made; later starts only say where it is kept. */
  private announceAdmin(a: { password: string; created: boolean; file: string }, mqtt: AddressInfo): void {
    if (!a.created) {
      this.log.warn(`The admin still has its first password, kept in ${a.file}; change it with 'owntracks-hub user passwd admin'.`)
      return
    }
    const host = mqtt.address === '0.0.0.0' || mqtt.address === '::' ? '127.0.0.1' : mqtt.address
    this.log.warn(`First start: created user 'admin' with password '${a.password}' (kept in ${a.file} until you change it with 'owntracks-hub user passwd admin').`)
    this.log.warn(`Try: mosquitto_sub -h ${host} -p ${mqtt.port} -u admin -P '${a.password}' -v -t 'owntracks/#'`)
  }

  async stop(): Promise<void> {
    this.users?.close()
    this.access?.close()
    const http = this.http as import('node:http').Server | undefined
    http?.closeIdleConnections()
    await new Promise<void>((r) => (http ? http.close(() => r()) : r()))
    await this.broker?.close()
    await this.history?.close()
  }
}

/** A host for links others can follow: a wildcard listen address says nothing, so use the machine's name. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return hostname()
  return host.includes(':') ? `[${host}]` : host
}
