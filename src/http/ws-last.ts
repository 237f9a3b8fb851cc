import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import type { AccessControl, Identity } from '../access/access.js'
import type { Logger } from '../log.js'
import { decodePayload } from '../owntracks/decode.js'
import { parseDeviceTopic } from '../owntracks/topics.js'
import type { HistoryStore } from '../store/types.js'
import type { UserRegistry } from '../users/registry.js'
import { crossSiteReason } from './cross-site.js'
import { enrichLast } from '../store/enrich.js'
import { seenDevices } from './visible.js'
import type { PlaceNames } from '../geo/place-names.js'

export interface WsLastDeps {
  users: UserRegistry
  access: AccessControl
  history: HistoryStore
  base: string
  log: Logger
  /** Adds place names to a location before the viewer's view cuts them (geo/place-names.ts). */
  placeNames?: PlaceNames
  /** The broker's publish events: every message subscribers got, after it was stored. */
  events: { on(event: 'publish', listener: (packet: { topic: string; payload: Buffer | string }) => void): unknown }
  /** Who is asking: HTTP Basic or the map's session cookie, as for /api/* (HttpAuth.upgrade). */
  identify(req: IncomingMessage): Promise<Identity | undefined>
  /** Origins of web apps on other sites allowed to connect (--cors-origin). */
  corsOrigins?: ReadonlySet<string>
  /** How often to ping each client; one that misses a pong by the next ping is dropped. */
  pingMs?: number
}

/** What the Recorder pushes live: messages with a place, as it does for its live map. */
const PUSHED = new Set(['location', 'transition', 'waypoint', 'beacon'])

/** A client that reads this slowly is dropped rather than buffered for. */
const MAX_BUFFERED = 4 * 1024 * 1024

/**
 * The Recorder's live feed at /ws/last, as the OwnTracks Frontend and the Recorder's own pages use
 * it: they connect, send `LAST`, get the newest location of every device as JSON objects, and then
 * each location, transition, waypoint and beacon as it is published. Authenticated like the API
 * (Basic auth on the upgrade request) and filtered like it: a client gets each message as
 * access.present() shows it to its user on the message's own topic, exactly as over MQTT.
 */
export class WsLast {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  private readonly clients = new Map<WebSocket, { who: Identity; alive: boolean }>()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly d: WsLastDeps) {
    d.events.on('publish', (packet) => { if (this.clients.size > 0) this.push(packet.topic, packet.payload) })
    this.timer = setInterval(() => this.ping(), d.pingMs ?? 30_000)
    this.timer.unref()
  }

  /** For UpgradeRouter.on('/ws/last', …). */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const header = (n: string) => req.headers[n] as string | undefined
    const why = crossSiteReason(header, this.d.corsOrigins)
    if (why) {
      this.d.log.warn(`Refused /ws/last from ${req.socket.remoteAddress}: ${why}`)
      return reject(socket, '403 Forbidden')
    }
    // The same credentials, and the same answer to a bad login, as the API: Basic or the map's session.
    this.d.identify(req).then((who) => {
      if (!who) return reject(socket, '401 Unauthorized', 'WWW-Authenticate: Basic realm="owntracks-hub", charset="UTF-8"\r\n')
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, who))
    }, (err: Error) => {
      this.d.log.error(`/ws/last: password check failed: ${err.message}`)
      reject(socket, '500 Internal Server Error')
    })
  }

  private accept(ws: WebSocket, who: Identity): void {
    this.clients.set(ws, { who, alive: true })
    ws.on('pong', () => { const c = this.clients.get(ws); if (c) c.alive = true })
    ws.on('message', (data, isBinary) => { if (!isBinary && data.toString() === 'LAST') this.sendLast(ws, who) })
    ws.on('close', () => this.clients.delete(ws))
    ws.on('error', () => this.clients.delete(ws))
  }

  private sendLast(ws: WebSocket, who: Identity): void {
    const annotate = this.d.placeNames && ((loc: Record<string, unknown>) => this.d.placeNames!.annotate(loc))
    for (const x of seenDevices(this.d.access, this.d.history, who, annotate)) {
      if (x.last) this.send(ws, enrichLast(x.last, x.user, x.device, x.lastTopic, x.card))
    }
  }

  private push(topic: string, payload: Buffer | string): void {
    const dt = parseDeviceTopic(topic, this.d.base)
    if (!dt) return
    const res = decodePayload(payload)
    if (!res.ok || !PUSHED.has(res.message._type)) return
    for (const [ws, { who }] of this.clients) {
      const seen = this.d.access.present(who, topic, this.d.placeNames ? this.d.placeNames.annotate(res.message) : res.message)
      if (seen) this.send(ws, enrichLast(seen, dt.user, dt.device, topic))
    }
  }

  private send(ws: WebSocket, obj: Record<string, unknown>): void {
    if (ws.bufferedAmount > MAX_BUFFERED) { ws.terminate(); return }
    ws.send(JSON.stringify(obj))
  }

  private ping(): void {
    for (const [ws, c] of this.clients) {
      if (!c.alive) { ws.terminate(); continue }
      c.alive = false
      ws.ping()
    }
  }

  close(): void {
    clearInterval(this.timer)
    for (const ws of this.clients.keys()) {
      ws.close(1001, 'hub stopping')
      // a client that does not answer the close must not hold the HTTP server's shutdown
      setTimeout(() => ws.terminate(), 1000).unref()
    }
    this.wss.close()
  }
}

function reject(socket: Duplex, status: string, headers = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`)
}
