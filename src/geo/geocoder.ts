import ngeohash from 'ngeohash'
import type { Level } from 'level'
import type { GeocoderSpec } from '../config.js'
import type { Logger } from '../log.js'
import { ghash } from './ghash.js'

/*
 * Street addresses from a geocoder the operator runs or chooses (`--geocoder nominatim:URL` or
 * `photon:URL`). Nothing here is on the path of a PUBACK: a fix only puts its place in a queue, one
 * request leaves every 1/rate seconds, and the answer lands in the cache for the next reader.
 *
 * The cache is keyed by the 7-character geohash (a cell of about 150 × 150 m, the Recorder's `ghash`),
 * so a place is asked once, however often the phone reports from it. It lives in the history database:
 *
 *   G \0 ghash7      {"addr": "...", "locality": "...", "cc": "..", "at": epoch s}
 */
const SEP = '\x00'
const QUEUE_MAX = 100_000

export interface Address { addr?: string; locality?: string; cc?: string }

export interface GeocoderCounters { requests: number; failures: number; cacheHits: number; queued: number }

export class Geocoder {
  private readonly cache = new Map<string, Address>()
  private readonly queue = new Map<string, { lat: number; lon: number }>()
  private timer?: NodeJS.Timeout
  private busy = false
  private closed = false
  private lastFailure = ''
  readonly counters: GeocoderCounters = { requests: 0, failures: 0, cacheHits: 0, queued: 0 }

  private constructor(
    private readonly spec: GeocoderSpec,
    private readonly db: Level<string, string>,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly agent: string,
  ) {}

  /** Loads the cache (one entry per 150 m cell ever asked) and starts the paced worker. */
  static async open(spec: GeocoderSpec, db: Level<string, string>, opts: { rate: number; log: Logger; agent: string }): Promise<Geocoder> {
    if (!(opts.rate > 0)) throw new Error(`geocoder rate must be above 0 requests per second, got ${opts.rate}`)
    const g = new Geocoder(spec, db, 1000 / opts.rate, opts.log, opts.agent)
    for await (const [k, v] of db.iterator({ gt: `G${SEP}`, lt: `G\xff` })) g.cache.set(k.slice(2), JSON.parse(v) as Address)
    return g
  }

  get cached(): number { return this.cache.size }
  get pending(): number { return this.queue.size }

  /** The cached address of the cell holding lat/lon, if asked before. */
  lookup(lat: number, lon: number): Address | undefined {
    const a = this.cache.get(ghash(lat, lon))
    if (a) this.counters.cacheHits++
    return a
  }

  /** Asks for the place later, unless it is cached or already waiting. Returns whether it was queued. */
  notice(lat: number, lon: number): boolean {
    if (this.closed || !Number.isFinite(lat) || !Number.isFinite(lon)) return false
    const gh = ghash(lat, lon)
    if (this.cache.has(gh) || this.queue.has(gh) || this.queue.size >= QUEUE_MAX) return false
    // The cell's centre is asked, not the fix: the geocoder learns no more than a 150 m cell.
    const c = ngeohash.decode(gh)
    this.queue.set(gh, { lat: c.latitude, lon: c.longitude })
    this.counters.queued++
    this.schedule()
    return true
  }

  private schedule(): void {
    if (this.timer || this.busy || this.closed || this.queue.size === 0) return
    this.timer = setTimeout(() => { this.timer = undefined; void this.next() }, this.intervalMs)
  }

  private async next(): Promise<void> {
    const first = this.queue.entries().next()
    if (first.done) return
    const [gh, at] = first.value
    this.busy = true
    try {
      const a = await this.ask(at.lat, at.lon)
      this.queue.delete(gh)
      this.cache.set(gh, a)
      await this.db.put(`G${SEP}${gh}`, JSON.stringify({ ...a, at: Math.floor(Date.now() / 1000) }))
      this.lastFailure = ''
    } catch (err) {
      this.counters.failures++
      // Keep the place queued (at the back) and say so once per kind of failure, not per request.
      this.queue.delete(gh)
      this.queue.set(gh, at)
      const msg = (err as Error).message
      if (msg !== this.lastFailure) this.log.warn(`Geocoder ${this.spec.kind} at ${this.spec.url} failed: ${msg} (${this.queue.size} places wait; retrying at the same pace)`)
      this.lastFailure = msg
    } finally {
      this.busy = false
      this.schedule()
    }
  }

  private async ask(lat: number, lon: number): Promise<Address> {
    this.counters.requests++
    const u = this.spec.kind === 'nominatim'
      ? `${this.spec.url}/reverse?format=jsonv2&addressdetails=1&zoom=18&lat=${lat}&lon=${lon}`
      : `${this.spec.url}/reverse?lat=${lat}&lon=${lon}&limit=1`
    const res = await fetch(u, { headers: { 'user-agent': this.agent, accept: 'application/json' }, signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`HTTP ${res.status} for ${u}`)
    const body = await res.json() as unknown
    return this.spec.kind === 'nominatim' ? fromNominatim(body) : fromPhoton(body)
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
  }
}

type Obj = Record<string, unknown>
const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined)

export function fromNominatim(body: unknown): Address {
  const b = (body ?? {}) as Obj
  if (b.error !== undefined) return {} // "Unable to geocode": a place with no address (sea); cached as such
  const a = (b.address ?? {}) as Obj
  const locality = str(a.city) ?? str(a.town) ?? str(a.village) ?? str(a.hamlet) ?? str(a.municipality)
  const cc = str(a.country_code)?.toUpperCase()
  return { addr: str(b.display_name), locality, cc }
}

export function fromPhoton(body: unknown): Address {
  const f = ((body ?? {}) as Obj).features
  const p = (Array.isArray(f) && f.length > 0 ? (f[0] as Obj).properties ?? {} : {}) as Obj
  const street = [str(p.street) ?? str(p.name), str(p.housenumber)].filter(Boolean).join(' ')
  const town = [str(p.postcode), str(p.city) ?? str(p.town) ?? str(p.village)].filter(Boolean).join(' ')
  const addr = [street, town, str(p.country)].filter((s) => s).join(', ')
  return { addr: addr || undefined, locality: str(p.city) ?? str(p.town) ?? str(p.village), cc: str(p.countrycode)?.toUpperCase() }
}
