import { createHash } from 'node:crypto'

/** How many password checks one account and one address may cause: a burst, then a steady rate. */
export interface AuthRates {
  /** Checks a minute for one user name, from all addresses together (0 = no limit). */
  perAccount: number
  /** Checks a minute from one address, whatever the user names (0 = no limit). */
  perAddress: number
}

/** How many checks may come at once before the rate applies. */
export const BURST = { account: 10, address: 20 }

export type AttemptResult = 'ok' | 'wrong' | 'throttled'

interface Bucket { tokens: number; at: number; warned: number }

const MAX_BUCKETS = 50_000

/**
 * Slows down password guessing, for MQTT and HTTP alike. Every password check takes one token from the
 * bucket of the address it comes from and from the bucket of the account it names; an attempt that finds
 * either bucket empty is refused without looking at the password, so it is answered the same whether the
 * password is right or wrong, and costs no PBKDF2. A success gives back only its own tokens: a login that
 * works (fred's own) never makes room for guesses at someone else. Parallel attempts each take a token
 * when they start, so a thousand at once are a thousand; the same user and password already being
 * checked is one check (a phone reconnecting on several sockets), and shares its answer.
 *
 * An account's bucket is shared by every address, so a guesser slows down that user's logins from new
 * addresses too; an address that has logged in to the account before gets a bucket of its own for it,
 * so an attacker elsewhere cannot keep a known phone out.
 */
export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>()
  private readonly known = new Set<string>()
  private readonly inFlight = new Map<string, Promise<boolean>>()

  constructor(private readonly rates: AuthRates, private readonly now: () => number = () => performance.now()) {}

  /**
   * Runs `check` (the password check) if the budgets allow it. `warn` is called at most once a minute
   * per exhausted bucket, with what was exhausted, so a flood of refusals does not flood the log.
   */
  async attempt(addr: string, account: string, password: string, check: () => Promise<boolean>, warn?: (what: string) => void): Promise<AttemptResult> {
    const same = `${account}\x00${createHash('sha256').update(password, 'utf8').digest('base64')}`
    const running = this.inFlight.get(same)
    if (running) return (await running) ? 'ok' : 'wrong'
    const pair = `${account}\x00${addr}`
    const keys: [string, number, number][] = []
    if (this.rates.perAddress > 0) keys.push([`a\x00${addr}`, BURST.address, this.rates.perAddress])
    if (this.rates.perAccount > 0) keys.push([this.known.has(pair) ? `p\x00${pair}` : `u\x00${account}`, BURST.account, this.rates.perAccount])
    const t = this.now()
    const buckets = keys.map(([k, burst, rate]) => this.bucket(k, burst, rate, t))
    const empty = buckets.findIndex((b) => b.tokens < 1)
    if (empty >= 0) {
      const b = buckets[empty]
      if (t - b.warned > 60_000) {
        b.warned = t
        warn?.(empty === 0 && this.rates.perAddress > 0
          ? `more than ${this.rates.perAddress} password checks a minute from ${addr}`
          : `more than ${this.rates.perAccount} password checks a minute for '${account}'`)
      }
      return 'throttled'
    }
    for (const b of buckets) b.tokens -= 1
    const p = check()
    this.inFlight.set(same, p)
    let good: boolean
    try { good = await p } finally { this.inFlight.delete(same) }
    if (good) {
      for (const b of buckets) b.tokens += 1
      this.remember(pair)
    }
    return good ? 'ok' : 'wrong'
  }

  /** Seconds until `addr` may try `account` again (for HTTP's Retry-After); at least 1. */
  retryAfter(addr: string, account: string): number {
    const t = this.now()
    let wait = 0
    const check = (k: string, rate: number) => {
      const b = this.buckets.get(k)
      if (b && rate > 0) wait = Math.max(wait, ((1 - this.refilled(b, rate, Infinity, t)) * 60_000) / rate)
    }
    check(`a\x00${addr}`, this.rates.perAddress)
    const pair = `${account}\x00${addr}`
    check(this.known.has(pair) ? `p\x00${pair}` : `u\x00${account}`, this.rates.perAccount)
    return Math.max(1, Math.ceil(wait / 1000))
  }

  private refilled(b: Bucket, rate: number, burst: number, t: number): number {
    return Math.min(burst, b.tokens + ((t - b.at) * rate) / 60_000)
  }

  private bucket(key: string, burst: number, rate: number, t: number): Bucket {
    let b = this.buckets.get(key)
    if (b) {
      b.tokens = this.refilled(b, rate, burst, t)
      b.at = t
      // Map order doubles as least-recently-used order for the sweep.
      this.buckets.delete(key)
    } else {
      b = { tokens: burst, at: t, warned: -Infinity }
      if (this.buckets.size >= MAX_BUCKETS) this.sweep(t)
    }
    this.buckets.set(key, b)
    return b
  }

  /**
   * Forgets buckets that have refilled (they hold nothing a fresh one would not). Only if that is not
   * enough, the least recently used go: an attacker must then have been quiet on them the longest.
   */
  private sweep(t: number): void {
    for (const [k, b] of this.buckets) {
      const rate = k[0] === 'a' ? this.rates.perAddress : this.rates.perAccount
      const burst = k[0] === 'a' ? BURST.address : BURST.account
      if (this.refilled(b, rate, burst, t) >= burst) this.buckets.delete(k)
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < MAX_BUCKETS * 0.9) break
      this.buckets.delete(k)
    }
  }

  private remember(pair: string): void {
    this.known.delete(pair)
    this.known.add(pair)
    if (this.known.size > MAX_BUCKETS) this.known.delete(this.known.values().next().value as string)
  }
}
