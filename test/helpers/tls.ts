import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type { RunningHub } from './hub.js'

/** The TLS ports a hub logged ("listening mqtts …" / "listening https …"); waits for them. */
export async function tlsPorts(hub: RunningHub, since = 0): Promise<{ mqtts: number; https: number }> {
  const m = await hub.waitForLog(/listening mqtts 127\.0\.0\.1:(\d+)/, 10_000, since)
  const h = await hub.waitForLog(/listening https 127\.0\.0\.1:(\d+)/, 10_000, since)
  return { mqtts: Number(/:(\d+)$/.exec(m)![1]), https: Number(/:(\d+)$/.exec(h)![1]) }
}

export const caFile = (hub: RunningHub): string => join(hub.dataDir, 'tls', 'ca.crt')

export interface CurlResult { code: number | null; status: number; body: string; headers: string }

/** `curl ARGS…`, as an operator would type it; status, headers and body of the last response. */
export function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    // -D - puts the response head before the body on stdout
    const p = spawn('curl', ['-sS', '-D', '-', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (b: Buffer) => (out += b))
    p.stderr.on('data', (b: Buffer) => (err += b))
    p.on('close', (code) => {
      // with -L every response of the chain has its head: the last one counts
      let headers = err
      while (out.startsWith('HTTP/')) {
        const end = out.indexOf('\r\n\r\n')
        if (end < 0) break
        headers = out.slice(0, end)
        out = out.slice(end + 4)
      }
      const status = /^HTTP\/[\d.]+ (\d{3})/.exec(headers)
      resolve({ code, status: status ? Number(status[1]) : 0, body: status ? out : '', headers })
    })
  })
}
