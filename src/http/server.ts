import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { SecureContextOptions } from 'node:tls'
import { getRequestListener } from '@hono/node-server'
import { settleForwarded } from './forwarded.js'
import type { UpgradeRouter } from './upgrade.js'

export interface HttpListenOptions {
  fetch: Parameters<typeof getRequestListener>[0]
  port: number
  host: string
  upgrades: UpgradeRouter
  /** Reverse proxies whose X-Forwarded-* headers are believed (see forwarded.ts). */
  trusted: Set<string>
  /** Certificate and key: HTTPS instead of HTTP. */
  tls?: SecureContextOptions
}

/**
 * The hono app on a plain or TLS port, with the WebSocket endpoints of `upgrades` on the same port.
 * Forwarded headers are settled for requests and upgrades alike before anything reads them.
 */
export function listenHttp(o: HttpListenOptions): Promise<{ server: Server; address: AddressInfo }> {
  const handle = getRequestListener(o.fetch)
  const onRequest = (req: IncomingMessage, res: Parameters<typeof handle>[1]) => { settleForwarded(req, o.trusted); void handle(req, res) }
  const server: Server = o.tls ? createHttpsServer({ ...o.tls }, onRequest) : createHttpServer(onRequest)
  server.on('upgrade', (req: IncomingMessage) => settleForwarded(req, o.trusted)) // runs before the router's listener
  o.upgrades.attach(server)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      server.off('error', reject)
      resolve({ server, address: server.address() as AddressInfo })
    })
  })
}

/** Stops accepting and resolves once open requests finished; idle keep-alive connections are closed now. */
export function closeHttp(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve()
  server.closeIdleConnections()
  return new Promise((r) => server.close(() => r()))
}
