import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Aedes, AedesPublishPacket, Client } from 'aedes'
import type { Logger } from '../log.js'
import type { Publish } from '../mqtt/publish.js'
import { deviceTopic, parseDeviceTopic } from '../owntracks/topics.js'
import type { HistoryStore } from '../store/types.js'

export interface Card { _type: 'card'; name?: string; face?: string; tid?: string }

/**
 * Each user's card (name and face), kept where the OwnTracks Recorder keeps it
 * (`<data>/cards/<user>/<user>.json`) and published retained on `<base>/<user>/<device>/info` for every
 * device of the user, so phones show a name and a face instead of two letters. Who receives it is
 * decided per receiver by access control, like a location. A device that appears later (a new phone)
 * gets the card with its first location.
 */
export class Cards {
  private readonly sent = new Set<string>()

  constructor(
    private readonly dataDir: string,
    private readonly base: string,
    private readonly history: HistoryStore,
    private readonly publish: Publish,
    private readonly log: Logger,
  ) {}

  private file(user: string): string { return join(this.dataDir, 'cards', user, `${user}.json`) }

  get(user: string): Card | undefined {
    const file = this.file(user)
    // Most users have none, and every device asks once after a restart: a failed read would build an
    // exception each time (1–3% of the hub's time while 2,000 phones come back).
    if (!existsSync(file)) return undefined
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Card
    } catch {
      return undefined
    }
  }

  /** Saves the card and publishes it to each of the user's devices; resolves with the topics. */
  async set(user: string, card: Card): Promise<string[]> {
    const file = this.file(user)
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file + '.tmp', JSON.stringify(card) + '\n')
    renameSync(file + '.tmp', file)
    return this.publishTo(user, this.devicesOf(user), Buffer.from(JSON.stringify(card)))
  }

  /**
   * Forgets the card. Devices get a card without name and face rather than an empty retained message:
   * that also replaces the card in the history, so the API stops showing it, and phones fall back to the tid.
   */
  async clear(user: string): Promise<string[]> {
    rmSync(join(this.file(user), '..'), { recursive: true, force: true })
    return this.publishTo(user, this.devicesOf(user), Buffer.from(JSON.stringify({ _type: 'card' })))
  }

  private devicesOf(user: string): string[] {
    return this.history.devices().filter((d) => d.user === user).map((d) => d.device)
  }

  private async publishTo(user: string, devices: string[], payload: Buffer): Promise<string[]> {
    const topics = devices.map((d) => deviceTopic(user, d, 'info', this.base))
    for (const topic of topics) await this.publish({ topic, payload, qos: 1, retain: true }, 'hub:card')
    for (const d of devices) this.sent.add(`${user}/${d}`)
    return topics
  }

  /** Sends the card to devices that had none: watches clients' publishes on device topics. */
  follow(aedes: Aedes): void {
    aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      if (!client) return
      const dt = parseDeviceTopic(packet.topic, this.base)
      if (!dt || dt.subtopic !== '' || this.sent.has(`${dt.user}/${dt.device}`)) return
      this.sent.add(`${dt.user}/${dt.device}`)
      const card = this.get(dt.user)
      if (!card) return
      const json = JSON.stringify(card)
      if (JSON.stringify(this.history.device(dt.user, dt.device)?.card) === json) return // already has it (an earlier run)
      this.publish({ topic: deviceTopic(dt.user, dt.device, 'info', this.base), payload: Buffer.from(json), qos: 1, retain: true }, 'hub:card')
        .catch((err: Error) => this.log.error(`Publishing the card of ${dt.user} to ${dt.device} failed: ${err.message}`))
    })
  }
}
