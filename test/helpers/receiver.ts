import type { IClientOptions, MqttClient } from 'mqtt'
import { topicMatches } from '../../src/access/topic-match.js'
import type { RunningHub } from './hub.js'
import { client } from './phone.js'
import { pw } from './users.js'

const MARKER = /^owntracks\/[^/]+\/marker\/(settle|retained)$/

export interface Received { topic: string; payload: string; retain: boolean }

/**
 * An MQTT client that records what it receives and can tell when everything sent before a moment has
 * arrived: `settle()` publishes a marker on the user's own topic and waits for it. The hub delivers in
 * the order it accepted publishes, so whatever was published before the marker and is not there by
 * then was not delivered. `subscribe()` waits in the same way for the retained messages a subscription
 * brings. No sleeping, no guessing.
 */
export class Receiver {
  readonly got: Received[] = []
  private markers = 0

  private constructor(readonly mqtt: MqttClient, readonly user: string) {
    mqtt.on('message', (topic, payload, packet) => this.got.push({ topic, payload: payload.toString(), retain: packet.retain }))
  }

  /** A plain MQTT client of `user` (password `<name>-pw`; admin's first password if the hub made one). */
  static async connect(hub: RunningHub, user: string, over: IClientOptions = {}): Promise<Receiver> {
    return Receiver.attach(await client(hub.mqttPort, user, user === 'admin' && hub.adminPassword ? hub.adminPassword : pw(user), over), user)
  }

  /** Records what a client connected otherwise (TLS, WebSocket) receives; it must be signed in as `user`. */
  static async attach(c: MqttClient, user: string): Promise<Receiver> {
    const r = new Receiver(c, user)
    await c.subscribeAsync(r.markerTopic, { qos: 1 })
    return r
  }

  get markerTopic(): string { return `owntracks/${this.user}/marker/settle` }
  private get retainedMarker(): string { return `owntracks/${this.user}/marker/retained` }

  /**
   * Subscribes and waits for the retained messages the subscription brings. aedes sends those after the
   * SUBACK, one filter after the other, from a database read that can take longer than a live marker's
   * round trip: so a retained marker is subscribed to last, in the same SUBSCRIBE, and awaited.
   * Answers the SUBACK's codes for `filters`: a plain topic the rules never let this user read is refused
   * with 0x80 and receives nothing, which is what a differential check expects of it (MQTT.js would
   * throw on that code).
   */
  async subscribe(...filters: string[]): Promise<number[]> {
    const id = `${++this.markers}`
    const t = this.retainedMarker
    await this.mqtt.publishAsync(t, id, { qos: 1, retain: true })
    // First make sure it is stored and its own delivery is over (aedes emits after storing): the
    // acknowledgement can come before the emission, and a subscription made then gets it live.
    await this.mqtt.subscribeAsync(t, { qos: 1 })
    await this.until(`the retained marker ${id} stored`, () => this.got.some((m) => m.topic === t && m.payload === id))
    await this.mqtt.unsubscribeAsync(t)
    this.got.splice(0, this.got.length, ...this.got.filter((m) => m.topic !== t))
    // resubscribe: MQTT.js leaves out a filter this client has already, and then no retained copy comes
    let granted: number[]
    try {
      granted = (await this.mqtt.subscribeAsync({ ...Object.fromEntries([...filters, t].map((f) => [f, { qos: 1 as const }])), resubscribe: true } as never)).map((g) => g.qos)
    } catch (err) {
      const suback = (err as { packet?: { granted?: number[] } }).packet
      if (!suback?.granted) throw err
      granted = suback.granted
    }
    // each filter matching the marker's topic sends its own copy; the last one comes after everything
    const copies = 1 + filters.filter((f) => topicMatches(f, t)).length
    await this.until(`the retained marker ${id} (${copies} copies)`, () => this.got.filter((m) => m.topic === t && m.payload === id && m.retain).length >= copies, () => JSON.stringify(this.got.filter((m) => m.topic.includes('/marker/'))))
    await this.mqtt.unsubscribeAsync(t)
    await this.mqtt.publishAsync(t, '', { qos: 1, retain: true })
    return granted.slice(0, filters.length)
  }

  /** Publishes a marker on the user's own topic and waits for it: what came before it has arrived. */
  async settle(): Promise<void> {
    const id = `${++this.markers}`
    await this.mqtt.publishAsync(this.markerTopic, id, { qos: 1 })
    await this.until(`marker ${id}`, () => this.got.some((m) => m.topic === this.markerTopic && m.payload === id))
  }

  private async until(what: string, done: () => boolean, seen: () => string = () => ''): Promise<void> {
    const start = Date.now()
    while (!done()) {
      if (Date.now() - start > 30_000) throw new Error(`${this.user}: ${what} never came ${seen()}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** What arrived, the markers of every Receiver left out. */
  messages(): Received[] { return this.got.filter((m) => !MARKER.test(m.topic)) }
  topics(): string[] { return this.messages().map((m) => m.topic) }
  clear(): void { this.got.length = 0 }
  end(): Promise<void> { return this.mqtt.endAsync() }
}
