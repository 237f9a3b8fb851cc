import { existsSync, readFileSync } from 'node:fs'
import type { Logger } from '../log.js'
import type { Broker } from '../mqtt/broker.js'
import type { Stats } from '../stats.js'
import { pollFiles } from '../watch.js'
import type { Bridge } from './bridge.js'
import { BridgeConfigError, parseBridgeFile } from './config.js'

/**
 * The bridges of the bridge file (--bridge-file, default <data>/bridges.conf): started with the hub and
 * restarted when the file changes. A file with a mistake is reported with its line and the bridges
 * already running keep running.
 */
export class Bridges {
  private running: Bridge[] = []
  private stopWatch?: () => void
  private switching: Promise<void> = Promise.resolve()

  constructor(private readonly file: string, private readonly broker: Broker, private readonly stats: Stats, private readonly log: Logger) {}

  start(): void {
    this.switching = this.load(false)
    this.stopWatch = pollFiles(() => [this.file], () => { this.switching = this.switching.then(() => this.load(true)) })
  }

  private async load(replace: boolean): Promise<void> {
    let parsed
    try {
      parsed = existsSync(this.file) ? parseBridgeFile(readFileSync(this.file, 'utf8'), this.file) : { bridges: [], ignored: [] }
    } catch (err) {
      if (!(err instanceof BridgeConfigError)) throw err
      this.log.error(`${err.message}${replace ? '; the bridges running stay as they are' : '; no bridges started'}`)
      return
    }
    if (replace) this.log.info(`The bridge file ${this.file} changed: restarting ${parsed.bridges.length} bridge(s).`)
    for (const i of parsed.ignored) this.log.info(`${i}: a Mosquitto option without effect here; ignored`)
    await Promise.all(this.running.map((b) => b.close()))
    this.stats.bridges.clear()
    // MQTT.js (in bridge.js) is loaded only when there is a bridge: several MB of memory otherwise.
    const BridgeClass = parsed.bridges.length > 0 ? (await import('./bridge.js')).Bridge : undefined
    this.running = parsed.bridges.map((cfg) => new BridgeClass!(cfg, this.broker, this.stats, this.log))
    for (const b of this.running) {
      try {
        b.start()
      } catch (err) {
        this.log.error(`Bridge ${b.name} cannot start: ${(err as Error).message}`) // e.g. an unreadable bridge_cafile
      }
    }
  }

  async close(): Promise<void> {
    this.stopWatch?.()
    await this.switching
    await Promise.all(this.running.map((b) => b.close()))
  }
}
