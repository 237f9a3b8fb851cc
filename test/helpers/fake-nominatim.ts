import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Asked { lat: number; lon: number; at: number }

/**
 * A local stand-in for Nominatim's /reverse on 127.0.0.1 that counts what it is asked. `hold()` keeps
 * answers back until `release()`, to show that nothing waits for the geocoder.
 */
export interface FakeNominatim {
  url: string
  asked: Asked[]
  hold(): void
  release(): void
  /** Resolves once `n` requests have arrived. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function fakeNominatim(): Promise<FakeNominatim> {
  const asked: Asked[] = []
  let held: (() => void)[] | undefined
  const waiters = new Set<() => void>()
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x')
    const lat = Number(u.searchParams.get('lat')), lon = Number(u.searchParams.get('lon'))
    const body = JSON.stringify({
      display_name: `${Math.round(lat * 1000)} Fake Street, Testtown, Netherlands`,
      address: { road: 'Fake Street', town: 'Testtown', country_code: 'nl' },
    })
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  }
  const server = createServer((req, res) => {
    if (!req.url?.startsWith('/reverse')) { res.writeHead(404).end(); return }
    const u = new URL(req.url, 'http://x')
    asked.push({ lat: Number(u.searchParams.get('lat')), lon: Number(u.searchParams.get('lon')), at: Date.now() })
    for (const w of waiters) w()
    if (held) held.push(() => answer(req, res)); else answer(req, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const fake: FakeNominatim = {
    url: `http://127.0.0.1:${port}`,
    asked,
    hold() { held = [] },
    release() { const h = held ?? []; held = undefined; for (const f of h) f() },
    waitForRequests(n, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => { if (asked.length >= n) { waiters.delete(check); clearTimeout(t); resolve() } }
        const t = setTimeout(() => { waiters.delete(check); reject(new Error(`the fake Nominatim got ${asked.length} requests, waited for ${n}`)) }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    async close() {
      fake.release()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  return fake
}
