import assert from 'node:assert/strict'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import { decodePayload } from '../../src/owntracks/decode.js'
import type { RunningHub } from './hub.js'
import type { Received } from './receiver.js'
import { pw } from './users.js'

/*
 * What one viewer gets of a device on each channel, in a form the channels can be compared in:
 * MQTT payloads read the way the hub reads them (the decoder's normalisation: numeric strings to
 * numbers), HTTP answers without the fields each HTTP format adds (who, which device, readable times).
 */

export type Msg = Record<string, unknown>

/** What /api/0/last, /ws/last and /pub add to a stored message. */
// cc, tzname and locality are the place names the hub finds offline for HTTP answers (README, "Where and when");
// addr is not here: one the phone sent must follow the share alike on every channel.
export const ADDED = ['username', 'device', 'topic', 'isotst', 'disptst', 'ghash', 'name', 'face', 'cc', 'tzname', 'locality']

export function strip(m: Msg, keep: string[] = []): Msg {
  const out: Msg = {}
  for (const [k, v] of Object.entries(m)) if (!ADDED.includes(k) || keep.includes(k)) out[k] = v
  return out
}

/** An MQTT payload as the hub reads it; a payload that is no OwnTracks message stays its text. */
export function read(payload: string): Msg | string {
  const res = decodePayload(payload)
  return res.ok ? res.message : payload
}

export interface Seen { topic: string; m: Msg | string; retain: boolean }

export const seen = (got: Received[], prefix: string): Seen[] =>
  got.filter((g) => g.topic.startsWith(prefix)).map((g) => ({ topic: g.topic, m: read(g.payload), retain: g.retain }))

/** A /ws/last client: collects what arrives; `settle()` proves everything published before it is in. */
export class LiveFeed {
  readonly got: Msg[] = []
  private markers = 0
  private constructor(readonly ws: WebSocket, private readonly hub: RunningHub, readonly user: string) {
    ws.on('message', (data) => this.got.push(JSON.parse(data.toString()) as Msg))
  }

  static open(hub: RunningHub, user: string): Promise<LiveFeed> {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/ws/last`, { headers: { Authorization: 'Basic ' + Buffer.from(`${user}:${pw(user)}`).toString('base64') } })
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new LiveFeed(ws, hub, user)))
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })))
      ws.once('error', reject)
    })
  }

  /**
   * The feed pushes in publish order: a location the viewer posts on their own marker device, once
   * it is back, comes after everything published before it.
   */
  async settle(): Promise<void> {
    const id = ++this.markers
    const res = await this.hub.http('/pub', { user: this.user, password: pw(this.user), method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': this.user, 'x-limit-d': 'wsmarker' }, body: JSON.stringify({ _type: 'location', lat: 0, lon: 0, tst: Math.floor(Date.now() / 1000), tid: 'mk', batt: id }) })
    assert.equal(res.status, 200)
    const start = Date.now()
    while (!this.got.some((m) => m.device === 'wsmarker' && m.batt === id)) {
      if (Date.now() - start > 10_000) throw new Error(`${this.user}: /ws/last marker ${id} never came back`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  of(user: string): Msg[] { return this.got.filter((m) => m.username === user) }
  clear(): void { this.got.length = 0 }
  close(): void { this.ws.close() }
}

/** Writes an acl/*.acl file as an editor does and waits for the hub to apply it (when it changed). */
export async function writeAcl(hub: RunningHub, name: string, text: string, before: string): Promise<void> {
  if (text === before) return
  const since = hub.logs().length
  const path = join(hub.aclDir, name)
  writeFileSync(path + '.new', text)
  renameSync(path + '.new', path)
  await hub.waitForLog(/Reloaded access rules from .*|.*the previous access rules stay in force/, 5000, since)
}
