import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { PacketReader, wire, type ConnectOptions } from './wire.js'

/**
 * Hostile peers for the security tests, on loopback only. A flood comes from another loopback address
 * (127.0.0.2), so per-address limits can shed it while the legitimate clients on 127.0.0.1 are served.
 */
export const ATTACKER = '127.0.0.2'

/** The hub's resident memory in MB, from /proc. */
export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
}

/** Samples RSS every 100 ms until stopped; `stop()` gives the highest seen. */
export function sampleRss(pid: number): { stop(): number } {
  let max = rssMb(pid)
  const t = setInterval(() => { try { max = Math.max(max, rssMb(pid)) } catch { /* exited */ } }, 100)
  return { stop: () => { clearInterval(t); try { max = Math.max(max, rssMb(pid)) } catch { /* exited */ } return max } }
}

/** One CONNECT from `from`: resolves with the CONNACK return code, or 'closed' if none came. */
export function connackFrom(port: number, o: ConnectOptions, from = ATTACKER): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from })
    const reader = new PacketReader()
    let code: number | 'closed' = 'closed'
    s.on('connect', () => s.write(wire.connect(o)))
    s.on('data', (b) => reader.push(b, (p) => { if (p.type === 2) { code = p.body[1]; s.end(wire.disconnect()) } }))
    s.on('error', () => {})
    s.on('close', () => resolve(code))
    s.setTimeout(20_000, () => s.destroy())
  })
}

/** Opens `n` TCP connections from `from`, at most `batch` at a time; each settles open or refused. */
export async function openSockets(port: number, n: number, from = ATTACKER, batch = 200): Promise<Socket[]> {
  const out: Socket[] = []
  for (let i = 0; i < n; i += batch) {
    out.push(...await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise<Socket>((resolve) => {
      const s = connect({ port, host: '127.0.0.1', localAddress: from })
      s.on('error', () => {})
      // Read what the hub sends before it closes (Node's HTTP server may answer 408 first): a socket with
      // unread data never sees its end, and would look held.
      s.resume()
      s.once('connect', () => resolve(s))
      s.once('close', () => resolve(s))
    }))))
  }
  return out
}

/** How many of `socks` the hub has closed by now. */
export const closedCount = (socks: Socket[]) => socks.filter((s) => s.destroyed || s.readyState === 'closed' || s.readableEnded).length
