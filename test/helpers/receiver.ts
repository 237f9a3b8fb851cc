import type { IClientOptions, MqttClient } from 'mqtt'
import type { RunningHub } from './hub.js'
import { client } from './phone.js'
import { pw } from './users.js'

export interface Received { topic: string; payload: string; retain: boolean }

/**
 * An MQTT client that records what it receives and can tell when everything sent before a moment has
 * arrived: `settle()` publishes a marker on the user's own topic and waits for it. The hub delivers in
 * the order it accepted publishes, so whatever was published before the marker and is not there by
 * then was not delivered. No sleeping, no guessing.
 */
export class Receiver {
  readonly got: Received[] = []
  private markers = 0

  private constructor(readonly mqtt: MqttClient, readonly user: string) {
    mqtt.on('message', (topic, payload, packet) => this.got.push({ topic, payload: payload.toString(), retain: packet.retain }))
  }

  /** A plain MQTT client of `user` (password `<name>-pw`, the hub's first password for admin). */
  static async connect(hub: RunningHub, user: string, over: IClientOptions = {}): Promise<Receiver> {
    return Receiver.attach(await client(hub.mqttPort, user, user === 'admin' ? hub.adminPassword : pw(user), over), user)
  }

  /** Records what a client connected otherwise (TLS, WebSocket) receives; it must be signed in as `user`. */
  static async attach(c: MqttClient, user: string): Promise<Receiver> {
    const r = new Receiver(c, user)
    await c.subscribeAsync(r.markerTopic, { qos: 1 })
    return r
  }

  get markerTopic(): string { return `owntracks/${this.user}/marker/settle` }

  async subscribe(...filters: string[]): Promise<void> {
    await this.mqtt.subscribeAsync(filters, { qos: 1 })
    await this.settle() // retained messages sent on subscribe come before the marker
  }

  async settle(): Promise<void> {
    const id = `${++this.markers}`
    await this.mqtt.publishAsync(this.markerTopic, id, { qos: 1 })
    const start = Date.now()
    while (!this.got.some((m) => m.topic === this.markerTopic && m.payload === id)) {
      if (Date.now() - start > 10_000) throw new Error(`${this.user}: marker ${id} never came back`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** What arrived, markers left out. */
  messages(): Received[] { return this.got.filter((m) => m.topic !== this.markerTopic) }
  topics(): string[] { return this.messages().map((m) => m.topic) }
  clear(): void { this.got.length = 0 }
  end(): Promise<void> { return this.mqtt.endAsync() }
}
