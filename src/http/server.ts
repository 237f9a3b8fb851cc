import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
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
  /** Open connections from one address (WebSockets included); 0 = no limit. */
  maxPerAddress?: number
  /** Counts the connections closed by maxPerAddress. */
  onRefused?: (addr: string) => void
}

/**
 * Time limits, so an idle or slow peer cannot hold a connection (and a file descriptor): the request
 * head must arrive within HEADERS_MS, a whole request within REQUEST_MS, and a keep-alive connection
 * idle for KEEP_ALIVE_MS is closed. Node checks them every CHECK_MS.
 */
export const HTTP_TIMEOUTS = { HEADERS_MS: 10_000, REQUEST_MS: 120_000, KEEP_ALIVE_MS: 5_000, CHECK_MS: 1_000 }

/**
 * The hono app on a plain or TLS port, with the WebSocket endpoints of `upgrades` on the same port.
 * Forwarded headers are settled for requests and upgrades alike before anything reads them.
 */
export function listenHttp(o: HttpListenOptions): Promise<{ server: Server; address: AddressInfo }> {
  const handle = getRequestListener(o.fetch)
  const onRequest = (req: IncomingMessage, res: Parameters<typeof handle>[1]) => { settleForwarded(req, o.trusted); void handle(req, res) }
  const t = HTTP_TIMEOUTS
  const limits = { headersTimeout: t.HEADERS_MS, requestTimeout: t.REQUEST_MS, keepAliveTimeout: t.KEEP_ALIVE_MS, connectionsCheckingInterval: t.CHECK_MS }
  const server: Server = o.tls ? createHttpsServer({ ...o.tls, ...limits }, onRequest) : createHttpServer(limits, onRequest)
  guardSockets(server, o.maxPerAddress ?? 0, o.trusted, o.onRefused)
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

/**
 * At most `max` open connections from one address (0 = no limit; a --trust-proxy address is not
 * capped): more are closed as they arrive, so one
 * peer's flood cannot use up the file descriptors everyone else (MQTT included) needs. A connection that
 * has not sent a whole request head within HEADERS_MS is closed too: Node's headersTimeout only starts
 * with the first byte, so a socket that sends nothing would otherwise stay open forever.
 */
function guardSockets(server: Server, max: number, trusted: Set<string>, onRefused?: (addr: string) => void): void {
  const open = new Map<string, number>()
  const firstRequest = new WeakMap<object, NodeJS.Timeout>()
  const started = (req: IncomingMessage) => {
    clearTimeout(firstRequest.get(req.socket))
    firstRequest.delete(req.socket)
  }
  server.on('request', started)
  server.on('upgrade', started)
  const awaitRequest = (sock: Socket) => {
    const t = setTimeout(() => sock.destroy(), HTTP_TIMEOUTS.HEADERS_MS)
    t.unref()
    firstRequest.set(sock, t)
    sock.once('close', () => clearTimeout(t))
  }
  // Requests on HTTPS name the TLS socket, not the raw one 'connection' gave; the handshake has its own timeout.
  const tls = 'setSecureContext' in server
  if (tls) server.on('secureConnection', awaitRequest)
  // 'connection' also fires for TLS (the raw socket, before the handshake): the cap holds either way.
  server.on('connection', (sock: Socket) => {
    const addr = (sock.remoteAddress ?? '').replace(/^::ffff:/, '')
    const n = open.get(addr) ?? 0
    // A trusted reverse proxy carries everyone's connections: the cap would shed them all together.
    if (max > 0 && n >= max && !trusted.has(addr)) {
      onRefused?.(addr)
      sock.destroy()
      return
    }
    if (!tls) awaitRequest(sock)
    open.set(addr, n + 1)
    sock.once('close', () => {
      const left = (open.get(addr) ?? 1) - 1
      if (left > 0) open.set(addr, left)
      else open.delete(addr)
    })
  })
}

/** Stops accepting and resolves once open requests finished; idle keep-alive connections are closed now. */
export function closeHttp(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve()
  server.closeIdleConnections()
  return new Promise((r) => server.close(() => r()))
}
