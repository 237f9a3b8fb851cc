import type { Logger } from '../log.js'
import type { AlertMessage } from './types.js'

export interface WebhookOptions {
  /** Waits before the 2nd, 3rd, … attempt (ms). */
  retryDelays?: number[]
  timeoutMs?: number
}

const MAX_PENDING = 1000

/**
 * Alerts as a JSON POST: the body is ntfy's JSON publish format (topic, title, message, tags) plus the
 * alert's own fields, so an ntfy server and any other receiver read the same thing. ntfy wants the
 * topic in the body and the POST on its root: `https://ntfy.sh/#family` posts to https://ntfy.sh/ with
 * topic `family`; without a fragment the topic is the URL's last path segment. A failed attempt
 * (network, 5xx, 429) is retried; every delivery ends in one log line.
 */
export class Webhooks {
  private pending = 0
  private readonly delays: number[]
  private readonly timeout: number
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(private readonly log: Logger, o: WebhookOptions = {}) {
    this.delays = o.retryDelays ?? [2000, 10_000, 60_000]
    this.timeout = o.timeoutMs ?? 10_000
  }

  send(url: string, m: AlertMessage): void {
    if (this.pending >= MAX_PENDING) {
      this.log.error(`Alert webhook ${safe(url)}: ${MAX_PENDING} deliveries pending; dropped '${m.message}'`)
      return
    }
    this.pending++
    const u = new URL(url)
    const topic = u.hash ? decodeURIComponent(u.hash.slice(1)) : u.pathname.split('/').filter(Boolean).pop()
    u.hash = ''
    const body = JSON.stringify({ ...m, ...(topic ? { topic } : {}) })
    void this.attempt(u.toString(), body, m, 1)
  }

  private async attempt(url: string, body: string, m: AlertMessage, n: number): Promise<void> {
    let why: string
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(this.timeout), redirect: 'error' })
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) {
        this.pending--
        this.log.info(`Alert webhook ${safe(url)}: delivered (HTTP ${res.status}, attempt ${n}): ${m.message}`)
        return
      }
      why = `HTTP ${res.status}`
      if (res.status < 500 && res.status !== 429) return this.give(url, m, n, why)
    } catch (err) {
      why = (err as Error).message
    }
    const wait = this.delays[n - 1]
    if (wait === undefined) return this.give(url, m, n, why)
    this.log.warn(`Alert webhook ${safe(url)}: attempt ${n} failed (${why}); retrying in ${Math.round(wait / 1000)} s`)
    const t = setTimeout(() => { this.timers.delete(t); void this.attempt(url, body, m, n + 1) }, wait)
    t.unref()
    this.timers.add(t)
  }

  private give(url: string, m: AlertMessage, n: number, why: string): void {
    this.pending--
    this.log.error(`Alert webhook ${safe(url)}: not delivered after ${n} attempt${n === 1 ? '' : 's'} (${why}): ${m.message}`)
  }

  close(): void { for (const t of this.timers) clearTimeout(t) }
}

/** A URL for the log: without a password in it. */
function safe(url: string): string {
  try { const u = new URL(url); u.password = ''; u.username = ''; return u.toString() } catch { return url }
}
