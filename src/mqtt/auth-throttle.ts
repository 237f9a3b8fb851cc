/**
 * Slows down password guessing: after a failed login from an address, that address's next answers
 * are delayed, doubling per failure up to `maxMs`. A success clears it. Entries expire after `forgetMs`.
 */
export class AuthThrottle {
  private failures = new Map<string, { n: number; at: number }>()

  constructor(private readonly baseMs = 250, private readonly maxMs = 8000, private readonly forgetMs = 10 * 60_000) {}

  delayFor(addr: string): number {
    const f = this.failures.get(addr)
    if (!f) return 0
    if (Date.now() - f.at > this.forgetMs) { this.failures.delete(addr); return 0 }
    return Math.min(this.maxMs, this.baseMs * 2 ** (f.n - 1))
  }

  /** How long until `addr` may try again, for callers that refuse early (HTTP 429) instead of delaying the answer. */
  retryAfter(addr: string): number {
    const f = this.failures.get(addr)
    return f ? Math.max(0, f.at + this.delayFor(addr) - Date.now()) : 0
  }

  failed(addr: string): void {
    const f = this.failures.get(addr)
    this.failures.set(addr, { n: (f?.n ?? 0) + 1, at: Date.now() })
    if (this.failures.size > 100_000) this.failures.clear()
  }

  succeeded(addr: string): void { this.failures.delete(addr) }
}
