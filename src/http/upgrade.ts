import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void

/**
 * One HTTP port carries several WebSocket endpoints (/mqtt for MQTT over WebSocket, /ws/last for the
 * Recorder's live feed). Each registers its path here; an unknown path is refused with 404.
 */
export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>()

  on(path: string, handler: UpgradeHandler): void { this.routes.set(path, handler) }

  /** Whether an endpoint is served: the map asks before opening /ws/last, so it never meets a 404 handshake. */
  has(path: string): boolean { return this.routes.has(path) }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      const h = this.routes.get(path)
      if (h) return h(req, socket, head)
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
    })
  }
}
