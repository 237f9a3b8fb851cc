import { hubCommand } from './cli-hint.js'
import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Server as HttpServer } from 'node:http'
import { hostname } from 'node:os'
import type { AddressInfo } from 'node:net'
import { AccessControl } from './access/access.js'
import { Bridges } from './bridge/bridges.js'
import { Cards } from './cards/cards.js'
import { ConfigError, corsOrigins as parseCorsOrigins, parseGeocoder, type Config } from './config.js'
import { CommandQueue } from './cmd-queue.js'
import { createApp } from './http/app.js'
import { startControl, type Control } from './http/control.js'
import { parseTrustedProxies } from './http/forwarded.js'
import { listenHttp } from './http/server.js'
import { WsLast } from './http/ws-last.js'
import { HttpAuth } from './http/auth.js'
import { SessionStore } from './http/session.js'
import { UpgradeRouter } from './http/upgrade.js'
import { HUB_ORIGIN, Ingest } from './ingest.js'
import type { Logger } from './log.js'
import { Monitor } from './monitor.js'
import { Broker } from './mqtt/broker.js'
import { mqttOverWebSocket } from './mqtt/websocket.js'
import { Stats } from './stats.js'
import { LevelHistory } from './store/history-level.js'
import type { HistoryStore } from './store/types.js'
import type { ClusterNode } from './cluster/node.js'
import { scheduleRetention, type Retention } from './store/retention.js'
import { TlsListeners } from './tls/listeners.js'
import { AuthThrottle } from './users/auth-throttle.js'
import { KeyStore } from './users/keys.js'
import { answerTourRequests } from './tours/mqtt-requests.js'
import { TourStore } from './tours/store.js'
import { Tours } from './tours/tours.js'
import { UserRegistry, ensureInitialAdmin } from './users/registry.js'
import { backupRoute } from './http/backup-route.js'
import { createMetrics } from './ops/metrics.js'
import { SysTopics } from './ops/sys-topics.js'
import { MemoryReducer } from './ops/memory-reducer.js'
import { guardWrites, type WriteGuard } from './store/write-guard.js'
import { Days, type DaysOptions } from './days/store.js'
import { Geocoder } from './geo/geocoder.js'
import { offlineZone } from './geo/offline.js'
import { PlaceNames } from './geo/place-names.js'
import { whereControl } from './http/where-control.js'
import { Alerts, alertTopic } from './alerts/alerts.js'
import { WebPush } from './alerts/web-push.js'
import { Webhooks } from './alerts/webhooks.js'
import { centre, enclosingRadius } from './places/geometry.js'
import { HomeAssistant } from './places/homeassistant.js'
import { HubTransitions, rid } from './places/hub-transitions.js'
import { Places } from './places/places.js'
import { sendPlacesToPhones } from './places/waypoints.js'

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

export interface Listening { mqtt: AddressInfo; http: AddressInfo; mqtts?: AddressInfo; https?: AddressInfo }

/**
 * Wires the parts together and owns start and stop. Data flows one way:
 * connection → auth → ACL → decode → store → fan-out → API/map.
 */
export class Hub {
  readonly stats = new Stats()
  users!: UserRegistry
  access!: AccessControl
  history!: HistoryStore
  /** Set when this hub is a node of a cluster (--redis and --postgres): history and broker state are shared. */
  cluster?: ClusterNode
  broker!: Broker
  listening!: Listening
  ingest!: Ingest
  /** cmds waiting for HTTP-mode phones. */
  readonly commands = new CommandQueue()
  /** WebSocket endpoints on the HTTP port register here (see http/upgrade.ts). */
  readonly upgrades = new UpgradeRouter()
  private http?: HttpServer
  /** Payload encryption secrets per user (`user key`). */
  keys!: KeyStore
  cards!: Cards
  /** MQTT over TLS and HTTPS, once certificates exist. */
  tls!: TlsListeners
  bridges?: Bridges
  private closeWebSockets?: () => void
  // The Recorder's extras: the live feed, `monitor`, the control socket the CLI's import/export use, retention.
  readonly monitor = new Monitor()
  private wsLast?: WsLast
  private control?: Control
  private retention?: Retention
  // Operations: $SYS, and the disk-full guards of both databases.
  private sys?: SysTopics
  private memory?: MemoryReducer
  private readonly guards: WriteGuard[] = []
  /** HTTP Basic or the map's session: /api/* and WebSocket upgrades (`auth.upgrade(req)`) authenticate here. */
  auth!: HttpAuth
  /** Tours; HTTP mode (POST /pub) answers `request` messages with `tours.handleRequest(user, device, msg)`. */
  tours!: Tours
  /** Country, zone, town and (with --geocoder) street of every location; days, visits, trips (README.md, "Where and when"). */
  placeNames!: PlaceNames
  days?: Days
  // Places and alerts (acl/places.yml): presence, the hub's transitions, Web Push, webhooks, Home Assistant.
  places!: Places
  transitions!: HubTransitions
  alerts!: Alerts
  webPush!: WebPush
  private webhooks?: Webhooks
  private homeassistant?: HomeAssistant

  constructor(readonly cfg: Config, readonly log: Logger) {}

  async start(): Promise<Listening> {
    const { cfg, log } = this
    if (cfg.docroot && !statSync(cfg.docroot, { throwIfNoEntry: false })?.isDirectory()) throw new ConfigError(`--docroot ${cfg.docroot} is not a directory: give the folder holding the web app's index.html`)
    if ((cfg.redis === undefined) !== (cfg.postgres === undefined)) {
      throw new ConfigError(`--redis and --postgres go together: a cluster node needs both (Redis for the broker's shared state, PostgreSQL for the history and shared state); give neither for the embedded hub`)
    }
    mkdirSync(cfg.data, { recursive: true })
    // A cluster node takes the shared users, rules, keys, cards and tours before it reads them.
    if (cfg.redis !== undefined && cfg.postgres !== undefined) {
      // Loaded only here: the embedded hub never loads the Redis and PostgreSQL clients.
      const [{ openCluster }, { sharedFiles }] = await Promise.all([import('./cluster/node.js'), import('./cluster/file-mirror.js')])
      this.cluster = await openCluster({
        redis: cfg.redis, postgres: cfg.postgres, log, onCommit: (s) => this.stats.commitSeconds.observe(s),
        files: sharedFiles(cfg),
      })
    }
    this.users = UserRegistry.forData(cfg.data, cfg.passwordFile, log)
    // One budget of password checks for MQTT and HTTP: a guess costs the same on either.
    const throttle = new AuthThrottle({ perAccount: cfg.authRateAccount, perAddress: cfg.authRateAddress })
    const initial = await ensureInitialAdmin(this.users, cfg.data)
    this.access = new AccessControl(cfg.aclDir, cfg.topicBase, log, { users: this.users, stampCreated: true, homeassistant: cfg.homeassistantUser })
    this.access.load()
    let levelHistory: LevelHistory | undefined
    if (this.cluster) {
      this.history = this.cluster.history
    } else {
      this.history = levelHistory = await LevelHistory.open(join(cfg.data, 'history'), { sync: cfg.fsync })
      this.guards.push(guardWrites(levelHistory.level, 'history', log, { onBatch: (s) => this.stats.commitSeconds.observe(s) }))
    }
    this.keys = KeyStore.forData(cfg.data, log)
    // The geocoder's cache lives in the embedded history's LevelDB: a cluster node names places by the
    // offline towns only (README.md, "When one machine is not enough").
    const geocoder = cfg.geocoder && levelHistory ? await Geocoder.open(parseGeocoder(cfg.geocoder), levelHistory.level, { rate: cfg.geocoderRate, log, agent: `owntracks-hub/${VERSION}` }) : undefined
    if (geocoder) log.info(`Street addresses from ${cfg.geocoder} (at most ${cfg.geocoderRate} request/s; ${geocoder.cached} places cached)`)
    this.placeNames = new PlaceNames(geocoder)
    if (levelHistory) {
      this.days = new Days({ history: levelHistory, db: levelHistory.level, put: (k, v) => levelHistory.putDerived(k, v), placeOf: (lat, lon) => this.placeNames.of(lat, lon), log, zoneOf: offlineZone })
      levelHistory.onLocation(this.days.stale)
    } else if (this.cluster) {
      // A node makes days from PostgreSQL and keeps them in memory until any node changes that device.
      const { DayCache } = await import('./cluster/day-cache.js')
      const cache = new DayCache()
      this.cluster.history.onDevicesChanged((keys) => cache.forget(keys))
      this.days = new Days({ history: this.cluster.history, db: cache as unknown as DaysOptions['db'], placeOf: (lat, lon) => this.placeNames.of(lat, lon), log, zoneOf: offlineZone })
    }
    const ingest = this.ingest = new Ingest(this.history, cfg.topicBase, this.stats, log, (u) => this.keys.get(u), cfg.maxDevicesPerUser)
    ingest.afterStore = (_u, _d, loc) => this.placeNames.notice(loc)
    this.broker = await Broker.start({
      stateDir: join(cfg.data, 'broker'), drainTimeout: cfg.drainTimeout, connectTimeout: cfg.connectTimeout,
      users: this.users, access: this.access, ingest, stats: this.stats, log, allowAnonymous: cfg.allowAnonymous,
      certUsername: cfg.tlsCertUsername, limits: cfg, throttle, shared: this.cluster?.broker, sharedOwners: this.cluster?.owners,
    })
    if (this.broker.level) this.guards.push(guardWrites(this.broker.level, 'broker', log))
    await this.startPlaces()
    const mqtt = await this.broker.listenTcp(cfg.mqttPort, cfg.host)
    log.info(`listening mqtt ${mqtt.address}:${mqtt.port}`)
    const tourStore = new TourStore(join(cfg.data, 'tours'), log)
    tourStore.load()
    this.tours = new Tours(tourStore, this.history, () => cfg.publicUrl ?? `http://${urlHost(cfg.host)}:${this.listening?.http.port ?? cfg.httpPort}`, log)
    answerTourRequests(this.broker, this.tours, cfg.topicBase, log)
    const corsOrigins = parseCorsOrigins(cfg.corsOrigin)
    const sessions = new SessionStore((u) => this.users.passwordStamp(u), Date.now, cfg.maxSessionsPerUser, this.cluster?.sessions)
    await this.cluster?.sessions.attach(sessions)
    this.auth = new HttpAuth(this.users, sessions, throttle, this.stats, log, corsOrigins)
    const map = {
      tileUrl: cfg.tileUrl, tileAttribution: cfg.tileAttribution, topicBase: cfg.topicBase,
      mqttPort: mqtt.port, mqttsPort: cfg.mqttsPort, live: () => this.upgrades.has('/ws/last'),
      mqtts: () => this.tls?.mqtts?.port, publicUrl: cfg.publicUrl,
    }
    this.monitor.attach(this.broker.aedes)
    const publish = this.broker.publish
    const common = { users: this.users, access: this.access, history: this.history, base: cfg.topicBase, version: VERSION, log, monitor: this.monitor, placeNames: this.placeNames, days: this.days }
    this.cards = new Cards(cfg.data, cfg.topicBase, this.history, publish, log)
    this.cards.follow(this.broker.aedes)
    const trouble = () => this.guards.map((g) => g.trouble()).find((t) => t !== undefined) ?? this.cluster?.trouble()
    const metrics = createMetrics({ stats: this.stats, connections: () => this.broker?.connections, devices: () => this.history.devices().length, writable: () => trouble() === undefined })
    const app = createApp({
      ...common, ingest, commands: this.commands, publish, docroot: cfg.docroot, docrootCsp: cfg.docrootCsp, corsOrigins,
      ops: { metrics, metricsPublic: cfg.metricsPublic, trouble },
      https: { httpsPort: () => this.tls.https?.port, redirect: cfg.httpsRedirect },
      caFile: () => this.tls.caFile(),
      cards: { cards: this.cards },
      auth: this.auth, tours: this.tours, map, publicUrl: cfg.publicUrl, maxBody: cfg.maxBody,
      places: {
        places: this.places, push: this.webPush, pushHttp: cfg.pushHttp,
        sendToPhones: (user, by) => sendPlacesToPhones({ history: this.history, commands: this.commands, publish: this.broker.publish, base: cfg.topicBase, log }, user, this.places.placesOf(user), by),
      },
    })
    this.wsLast = new WsLast({ ...common, events: this.broker.aedes, identify: (req) => this.auth.upgrade(req), corsOrigins })
    this.upgrades.on('/ws/last', this.wsLast.handleUpgrade)
    const brokerDb = this.broker.level
    // A cluster's history and broker state live in PostgreSQL and Redis, whose own tools back them up.
    // Exports through the control socket are the store's bytes, the same as with the hub stopped: no place names.
    this.control = await startControl(cfg.data, { ...common, placeNames: undefined }, (control) => {
      if (levelHistory && brokerDb) {
        backupRoute(control, {
          dataDir: cfg.data, aclDir: cfg.aclDir, version: VERSION,
          databases: [{ name: 'history', db: levelHistory.level }, { name: 'broker', db: brokerDb }],
        })
      }
      if (this.days) whereControl(control, { history: this.history, days: this.days, placeNames: this.placeNames })
    })
    this.retention = scheduleRetention(this.history, cfg.retentionDays, log)
    const mqttWs = mqttOverWebSocket(this.broker)
    this.upgrades.on('/mqtt', mqttWs.handleUpgrade)
    this.closeWebSockets = mqttWs.close
    let lastHttpRefusal = 0
    const onRefused = (addr: string) => {
      this.stats.httpRefused++
      // A flood of refusals must not flood the log: one line per 10 s.
      if (Date.now() - lastHttpRefusal < 10_000) return
      lastHttpRefusal = Date.now()
      log.warn(`Refused HTTP connections from ${addr}: ${cfg.maxHttpPerAddress} from there are open, the max-http-per-address limit.`)
    }
    const web = { fetch: app.fetch, upgrades: this.upgrades, trusted: parseTrustedProxies(cfg.trustProxy), maxPerAddress: cfg.maxHttpPerAddress, onRefused }
    const { server, address: http } = await listenHttp({ ...web, port: cfg.httpPort, host: cfg.host })
    this.http = server
    log.info(`listening http ${http.address}:${http.port}`)
    this.tls = new TlsListeners({ cfg, log, broker: this.broker, http: web })
    await this.tls.start()
    this.bridges = new Bridges(cfg.bridgeFile, this.broker, this.stats, log)
    this.bridges.start()
    this.keys.watch()
    // Admins and the names a rule may use come from the users too: re-check the rules when they change.
    // Places may name the people and groups of the sharing rules: re-check them too.
    this.users.watch(() => { if (this.access.load()) this.places.load() })
    this.access.watch(() => this.places.load())
    this.places.watch()
    if (this.cluster) {
      this.cluster.files.onChange((name) => { if (name.startsWith('tours/')) tourStore.reload() })
      this.cluster.files.start()
    }
    this.listening = { mqtt, http, mqtts: this.tls.mqtts, https: this.tls.https }
    this.sys = new SysTopics({ aedes: this.broker.aedes, stats: this.stats, connections: this.broker.connections, countRetained: () => this.broker.countRetained(), version: VERSION, log }, cfg.sysInterval)
    this.sys.start()
    if (initial) this.announceAdmin(initial, mqtt)
    this.memory = new MemoryReducer(log, this.stats)
    await this.memory.start()
    log.info(`owntracks-hub ${VERSION} running; data in ${cfg.data}, rules in ${cfg.aclDir}`)
    return this.listening
  }

  /** Places, their tracker on the ingest path, alerts and their channels, Home Assistant discovery. */
  private async startPlaces(): Promise<void> {
    const { cfg, log } = this
    const places = this.places = new Places(cfg.aclDir, this.access, () => this.users.list().map((u) => u.name), log)
    places.load()
    this.access.presence = {
      at: (user, device) => {
        const c = places.tracker.current(user, device)
        return c && { name: c.place.name, ...centre(c.place.shape), radius: enclosingRadius(c.place.shape), since: c.since }
      },
      awaySince: (user, device) => places.tracker.awaySince(user, device),
      place: (user, r) => {
        const p = places.placesOf(user).find((x) => rid(x.id) === r)
        return p && { ...centre(p.shape), radius: enclosingRadius(p.shape) }
      },
    }
    this.webhooks = new Webhooks(log)
    this.webPush = new WebPush(cfg.data, log)
    const publish = this.broker.publish
    const clock = cfg.testClock
    if (clock) log.warn(`OTHUB_TEST_CLOCK: the alerts' clock starts at ${new Date(clock.start).toISOString()} and runs ${clock.rate}× as fast (for tests only)`)
    const started = Date.now()
    this.alerts = new Alerts({
      places, webhooks: this.webhooks, push: this.webPush, log,
      devicesOf: (user) => this.history.devices().filter((x) => x.user === user).map((x) => x.device),
      mqtt: (user, m) => {
        publish({ topic: alertTopic(user), payload: Buffer.from(JSON.stringify(m)), qos: 1, retain: false }, HUB_ORIGIN)
          .catch((err: Error) => log.error(`Alert to ${alertTopic(user)} could not be published: ${err.message}`))
      },
      ...(clock ? { now: () => clock.start + (Date.now() - started) * clock.rate, rate: clock.rate } : {}),
      keepsClock: this.cluster && (() => this.cluster!.clock.holds()),
    })
    this.alerts.start()
    this.transitions = new HubTransitions({ places, history: this.history, publish, base: cfg.topicBase, log, onTransition: (t) => this.alerts.transition(t) })
    await this.transitions.restore()
    if (cfg.homeassistantUser) {
      const ha = this.homeassistant = new HomeAssistant({ user: cfg.homeassistantUser, access: this.access, history: this.history, places, publish, log })
      places.onChange(() => ha.refreshAll())
      ha.refreshAll()
    }
    if (this.cluster) {
      const webPush = this.webPush
      this.cluster.files.onChange((name) => { if (name === 'vapid.json' || name === 'push-subscriptions.json') webPush.reload() })
      // Every node follows every device's position, so that whichever node a phone sends its next
      // location to knows where it was; the transition is made and published only by the node that
      // stored the location.
      this.cluster.history.onRemoteLocation((s) => {
        const l = s.last!
        if (typeof l.lat === 'number' && typeof l.lon === 'number' && typeof l.tst === 'number') {
          places.tracker.observe(s.user, s.device, { lat: l.lat, lon: l.lon, acc: typeof l.acc === 'number' ? l.acc : undefined, tst: l.tst })
        }
      })
    }
    this.ingest.onStored = (user, device, message) => {
      this.transitions.stored(user, device, message)
      if (message._type === 'location' || message._type === 'transition') this.homeassistant?.changed(user, device)
    }
  }

  /** The password is printed once, when it is made; later starts only say where it is kept. */
  private announceAdmin(a: { password: string; created: boolean; file: string }, mqtt: AddressInfo): void {
    if (!a.created) {
      this.log.warn(`The admin still has its first password, kept in ${a.file}; change it with '${hubCommand('user passwd admin', this.cfg)}'.`)
      return
    }
    const host = mqtt.address === '0.0.0.0' || mqtt.address === '::' ? '127.0.0.1' : mqtt.address
    this.log.warn(`First start: created user 'admin' with password '${a.password}' (kept in ${a.file} until you change it with '${hubCommand('user passwd admin', this.cfg)}').`)
    this.log.warn(`Try: mosquitto_sub -h ${host} -p ${mqtt.port} -u admin -P '${a.password}' -v -t 'owntracks/#'`)
  }

  /** What a stop is waiting for, for the log when it takes too long (serve.ts). */
  stopStep = ''

  /**
   * Graceful stop: stop accepting on every port, let open requests finish for up to stopTimeout,
   * disconnect the clients (their wills stay stored: see Broker.close), let every history write that was
   * started commit, then close the databases.
   */
  async stop(): Promise<void> {
    const step = (what: string) => { this.stopStep = what }
    step('draining'); await this.cluster?.drain()
    this.sys?.stop()
    this.memory?.stop()
    this.users?.close()
    this.access?.close()
    this.places?.close()
    this.alerts?.close()
    this.webhooks?.close()
    this.keys?.close()
    this.wsLast?.close()
    step('control socket'); await this.control?.close()
    step('retention'); await this.retention?.stop()
    step('bridges'); await this.bridges?.close()
    // WebSocket connections first: an HTTP server's close() waits for them.
    this.closeWebSockets?.()
    step('TLS listeners'); await this.tls?.close()
    const http = this.http
    const httpClosed = new Promise<void>((r) => (http ? http.close(() => r()) : r()))
    http?.closeIdleConnections()
    // a request still streaming gets a moment to finish; then its connection is cut
    const cut = setTimeout(() => http?.closeAllConnections(), this.cfg.stopTimeout)
    // MQTT stops accepting now too, while HTTP requests finish
    step('MQTT clients and the broker database'); await this.broker?.close()
    step('HTTP requests'); await httpClosed
    clearTimeout(cut)
    for (const g of this.guards) g.stop()
    this.placeNames?.geocoder?.close()
    step('day summaries'); await this.days?.close()
    step('history writes'); await this.history?.close()
    step('PostgreSQL'); await this.cluster?.close()
  }
}

/** A host for links others can follow: a wildcard listen address says nothing, so use the machine's name. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return hostname()
  return host.includes(':') ? `[${host}]` : host
}
