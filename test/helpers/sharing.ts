import assert from 'node:assert/strict'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { IClientOptions, MqttClient } from 'mqtt'
import { runCli, type RunningHub } from './hub.js'
import { client } from './phone.js'

export const pw = (user: string): string => `${user}-pw`

/** Adds users with password `<name>-pw` to a running hub and waits until it has re-read them. */
export async function addUsers(hub: RunningHub, ...names: string[]): Promise<void> {
  const since = hub.logs().length
  for (const u of names) assert.equal((await runCli(['user', 'add', u, '--password', pw(u), '--data', hub.dataDir])).code, 0)
  const total = readFileSync(join(hub.dataDir, 'passwd'), 'utf8').split('\n').filter((l) => l.includes(':')).length
  await hub.waitForLog(new RegExp(`Reloaded users: ${total} `), 5000, since)
}

/**
 * Replaces acl/sharing.yml as an editor does (write aside, rename over) and waits until the hub has
 * applied it or refused it; returns the hub's log line about it.
 */
export async function writeRules(hub: RunningHub, yaml: string, file = 'sharing.yml'): Promise<string> {
  const since = hub.logs().length
  const path = join(hub.aclDir, file)
  writeFileSync(path + '.new', yaml)
  renameSync(path + '.new', path)
  return hub.waitForLog(/Reloaded access rules from .*|.*the previous access rules stay in force/, 5000, since)
}

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

  static async connect(hub: RunningHub, user: string, over: IClientOptions = {}): Promise<Receiver> {
    const c = await client(hub.mqttPort, user, pw(user), over)
    const r = new Receiver(c, user)
    await c.subscribeAsync(r.markerTopic, { qos: 1 })
    return r
  }

  get markerTopic(): string { return `owntracks/${this.user}/marker/settle` }

  /**
   * Subscribes and waits until retained messages sent on subscribe have come. Answers the SUBACK's
   * codes: a plain topic the rules never let this user read is refused with 0x80, and receives nothing,
   * which is what a differential check expects of it (MQTT.js would throw on that code).
   */
  async subscribe(...filters: string[]): Promise<number[]> {
    let granted: number[]
    try {
      granted = (await this.mqtt.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos)
    } catch (err) {
      const suback = (err as { packet?: { granted?: number[] } }).packet
      if (!suback?.granted) throw err
      granted = suback.granted
    }
    await this.settle() // retained messages sent on subscribe come before the marker
    return granted
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
