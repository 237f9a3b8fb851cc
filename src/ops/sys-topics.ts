import type { Aedes, Client } from 'aedes'
import type { Logger } from '../log.js'
import type { ConnectionCounts } from '../mqtt/limits.js'
import type { Stats } from '../stats.js'

export interface SysSources {
  aedes: Aedes
  stats: Stats
  connections: ConnectionCounts
  countRetained(): Promise<number>
  version: string
  log: Logger
}

/** Mosquitto's load averages: exponentially smoothed per-minute rates over 1, 5 and 15 minutes. */
class Load {
  private last = 0
  readonly avg = [0, 0, 0]
  constructor(private readonly read: () => number) { this.last = read() }
  tick(seconds: number): void {
    const now = this.read()
    const perMinute = ((now - this.last) / seconds) * 60
    this.last = now
    ;[60, 300, 900].forEach((window, i) => { this.avg[i] += (1 - Math.exp(-seconds / window)) * (perMinute - this.avg[i]) })
  }
}

/**
 * Publishes Mosquitto's `$SYS/broker/…` tree every `interval` seconds, retained, and only the values
 * that changed (as Mosquitto does), so a new subscriber gets the whole tree at once. Access lets admins
 * read `$SYS` and nobody write it; a subscription to `#` does not match `$SYS` (MQTT-4.7.2-1).
 *
 * Where Mosquitto counts every packet type in messages/received|sent, the hub counts PUBLISH packets
 * (the same as publish/messages/…): that is what an operator watches.
 */
export class SysTopics {
  private timer?: NodeJS.Timeout
  private readonly sent = new Map<string, string>()
  private maxConnected = 0
  private readonly loads: Record<string, Load>

  constructor(private readonly s: SysSources, private readonly intervalSeconds: number) {
    const bytes = () => s.connections.bytes()
    this.loads = {
      'messages/received': new Load(() => s.stats.messagesIn),
      'messages/sent': new Load(() => s.stats.messagesOut),
      'publish/received': new Load(() => s.stats.messagesIn),
      'publish/sent': new Load(() => s.stats.messagesOut),
      'bytes/received': new Load(() => bytes().in),
      'bytes/sent': new Load(() => bytes().out),
      connections: new Load(() => s.stats.connections),
    }
  }

  start(): void {
    if (this.intervalSeconds <= 0) return
    this.publishAll().catch((err: Error) => this.s.log.error(`$SYS update failed: ${err.message}`))
    this.timer = setInterval(() => {
      for (const l of Object.values(this.loads)) l.tick(this.intervalSeconds)
      this.publishAll().catch((err: Error) => this.s.log.error(`$SYS update failed: ${err.message}`))
    }, this.intervalSeconds * 1000)
    this.timer.unref()
  }

  stop(): void { clearInterval(this.timer) }

  /** The current tree, topic (below `$SYS/broker/`) → value. */
  async values(): Promise<Record<string, string>> {
    const { aedes, stats, connections } = this.s
    const clients = Object.values((aedes as unknown as { clients: Record<string, Client & { subscriptions: object; clean: boolean }> }).clients)
    const connected = clients.length
    this.maxConnected = Math.max(this.maxConnected, connected)
    let subscriptions = 0
    let persistentOnline = 0
    for (const c of clients) {
      const n = Object.keys(c.subscriptions).length
      subscriptions += n
      if (!c.clean && n > 0) persistentOnline++
    }
    // Persistent sessions with subscriptions, online or not (a scan of the broker's subscription keys).
    const persistence = (aedes as unknown as { persistence: { countOffline(): Promise<{ clientsCount: number }> } }).persistence
    const { clientsCount } = await persistence.countOffline()
    const disconnected = Math.max(0, clientsCount - persistentOnline)
    const bytes = connections.bytes()
    const mem = process.memoryUsage()
    const out: Record<string, string> = {
      version: `owntracks-hub ${this.s.version}`,
      uptime: `${Math.floor((Date.now() - stats.started) / 1000)} seconds`,
      'clients/connected': String(connected),
      'clients/active': String(connected),
      'clients/disconnected': String(disconnected),
      'clients/inactive': String(disconnected),
      'clients/total': String(connected + disconnected),
      'clients/maximum': String(this.maxConnected),
      'messages/received': String(stats.messagesIn),
      'messages/sent': String(stats.messagesOut),
      'publish/messages/received': String(stats.messagesIn),
      'publish/messages/sent': String(stats.messagesOut),
      'publish/messages/dropped': String(stats.deniedPublish + stats.droppedTooLarge),
      'bytes/received': String(bytes.in),
      'bytes/sent': String(bytes.out),
      'subscriptions/count': String(subscriptions),
      'retained messages/count': String(await this.s.countRetained()),
      'heap/current': String(mem.heapUsed),
      'heap/maximum': String(mem.heapTotal),
    }
    for (const [name, l] of Object.entries(this.loads)) {
      const base = name === 'connections' ? 'load/connections' : `load/${name}`
      ;['1min', '5min', '15min'].forEach((w, i) => { out[`${base}/${w}`] = l.avg[i].toFixed(2) })
    }
    return out
  }

  private async publishAll(): Promise<void> {
    const values = await this.values()
    for (const [name, value] of Object.entries(values)) {
      if (this.sent.get(name) === value) continue
      this.sent.set(name, value)
      this.s.aedes.publish({ cmd: 'publish', topic: `$SYS/broker/${name}`, payload: Buffer.from(value), qos: 0, retain: true, dup: false } as never, () => {})
    }
  }
}
