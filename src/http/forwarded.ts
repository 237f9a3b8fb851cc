import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { TLSSocket } from 'node:tls'
import { ConfigError } from '../config.js'

const FORWARDED = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip'])

/** --trust-proxy: the addresses of reverse proxies whose X-Forwarded-* headers are believed. */
export function parseTrustedProxies(raw: string | undefined): Set<string> {
  const out = new Set<string>()
  for (const a of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isIP(a)) throw new ConfigError(`--trust-proxy: '${a}' is not an IP address; list the proxies' addresses, e.g. --trust-proxy 127.0.0.1,::1`)
    out.add(plainAddress(a))
  }
  return out
}

export const plainAddress = (a: string): string => (a.startsWith('::ffff:') ? a.slice(7) : a)

/**
 * Makes X-Forwarded-For / -Proto / -Host safe to read for every handler, before any sees the request:
 * from a trusted proxy they stay as the proxy sent them; from anyone else, whatever the client claimed is
 * dropped and the hub writes what it saw itself (the peer address, https on a TLS socket). So "is this
 * request secure?" is `x-forwarded-proto === 'https'` everywhere, behind a proxy or not.
 */
export function settleForwarded(req: IncomingMessage, trusted: Set<string>): void {
  const peer = plainAddress(req.socket.remoteAddress ?? '')
  const own = { 'x-forwarded-for': peer, 'x-forwarded-proto': req.socket instanceof TLSSocket ? 'https' : 'http' }
  const fromProxy = trusted.has(peer)
  const raw: string[] = []
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase()
    if (FORWARDED.has(name) && !fromProxy) continue
    raw.push(req.rawHeaders[i], req.rawHeaders[i + 1])
  }
  const add: Record<string, string> = {}
  for (const [k, v] of Object.entries(own)) if (!fromProxy || req.headers[k] === undefined) add[k] = v
  for (const [k, v] of Object.entries(add)) raw.push(k, v)
  req.rawHeaders = raw
  if (!fromProxy) for (const k of FORWARDED) delete req.headers[k]
  Object.assign(req.headers, add)
}
