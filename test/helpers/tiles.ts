import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { solidPng } from './images.js'

export interface TileServer { url: string; port: number; requests: number; /** Host headers seen, e.g. a.tile.test:PORT. */ hosts: Set<string>; close(): Promise<void> }

/**
 * A map tile server on 127.0.0.1 (one plain 256×256 PNG for every tile), so browser tests draw a real
 * tile layer without reaching the internet.
 */
export async function startTileServer(): Promise<TileServer> {
  const png = solidPng(256, 256, 0xe6e1d8ff)
  let requests = 0
  const hosts = new Set<string>()
  const server: Server = createServer((req, res) => {
    requests++
    if (req.headers.host) hosts.add(req.headers.host)
    if (!/^\/\d+\/\d+\/\d+\.png$/.test(req.url ?? '')) { res.writeHead(404).end(); return }
    res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'max-age=3600' }).end(png)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/{z}/{x}/{y}.png`,
    port,
    hosts,
    get requests() { return requests },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }),
  }
}
