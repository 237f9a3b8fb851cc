import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { writeAtomic } from '../access/rules-edit.js'
import type { Logger } from '../log.js'
import type { AlertMessage } from './types.js'

/** A browser's push subscription (PushSubscription.toJSON()), kept per person. */
export interface Subscription {
  endpoint: string
  keys: { p256dh: string; auth: string }
  user: string
  /** What the browser said it is, to tell subscriptions apart on the map. */
  label: string
  created: string
}

interface Vapid { publicKey: string; privateKey: string; subject: string }

// web-push (and its ASN.1, JWS and proxy packages) loads when keys are made or a push goes out: most
// hubs hold it for nothing otherwise.
type WebPushLib = typeof import('web-push')
let lib: WebPushLib | undefined
const webpush = (): WebPushLib => (lib ??= createRequire(import.meta.url)('web-push') as WebPushLib)

const MAX_PER_USER = 20
const MAX_PENDING = 1000

/**
 * Web Push to the map (an installable PWA, public/sw.js): VAPID keys are made on the first start and
 * kept in <data>/vapid.json; subscriptions per person and browser in <data>/push-subscriptions.json.
 * Payloads are encrypted for the browser (RFC 8291, aes128gcm) by the `web-push` package; the request
 * goes out with fetch so the push service may be any http(s) endpoint the browser named. A push
 * service answering 404 or 410 has forgotten the subscription: it is removed.
 */
export class WebPush {
  private vapid: Vapid
  private subs: Subscription[] = []
  private readonly file: string
  private pending = 0

  constructor(data: string, private readonly log: Logger, subject = 'mailto:owntracks-hub@localhost') {
    const vf = join(data, 'vapid.json')
    if (existsSync(vf)) this.vapid = JSON.parse(readFileSync(vf, 'utf8')) as Vapid
    else {
      const k = webpush().generateVAPIDKeys()
      this.vapid = { publicKey: k.publicKey, privateKey: k.privateKey, subject }
      writeAtomic(vf, JSON.stringify(this.vapid, null, 2) + '\n')
      log.info(`Web Push: made VAPID keys in ${vf}`)
    }
    this.file = join(data, 'push-subscriptions.json')
    if (existsSync(this.file)) this.subs = JSON.parse(readFileSync(this.file, 'utf8')) as Subscription[]
  }

  /** Reads the keys and subscriptions again, after another node of a cluster changed them (cluster/file-mirror.ts). */
  reload(): void {
    const vf = join(this.file, '..', 'vapid.json')
    try {
      if (existsSync(vf)) this.vapid = JSON.parse(readFileSync(vf, 'utf8')) as Vapid
      this.subs = existsSync(this.file) ? JSON.parse(readFileSync(this.file, 'utf8')) as Subscription[] : []
    } catch (err) {
      this.log.error(`Web Push: cannot read ${vf} or ${this.file} (${(err as Error).message}); keeping the keys and subscriptions in use`)
    }
  }

  get publicKey(): string { return this.vapid.publicKey }

  list(user: string): Subscription[] { return this.subs.filter((s) => s.user === user) }

  subscribe(s: Subscription): void {
    this.subs = this.subs.filter((x) => x.endpoint !== s.endpoint)
    this.subs.push(s)
    const mine = this.list(s.user)
    if (mine.length > MAX_PER_USER) this.subs = this.subs.filter((x) => x !== mine[0])
    this.save()
  }

  /** Removes a subscription of `user` (or of anyone, for an admin: user null); true if there was one. */
  unsubscribe(endpoint: string, user: string | null): boolean {
    const before = this.subs.length
    this.subs = this.subs.filter((x) => !(x.endpoint === endpoint && (user === null || x.user === user)))
    if (this.subs.length === before) return false
    this.save()
    return true
  }

  private save(): void { writeAtomic(this.file, JSON.stringify(this.subs, null, 2) + '\n') }

  /** Sends the alert to every browser of `user`; one log line per delivery. */
  send(user: string, m: AlertMessage): void {
    for (const s of this.list(user)) {
      if (this.pending >= MAX_PENDING) { this.log.error(`Web Push: ${MAX_PENDING} deliveries pending; dropped '${m.message}' for ${user}`); return }
      this.pending++
      void this.one(s, m).finally(() => this.pending--)
    }
  }

  private async one(s: Subscription, m: AlertMessage): Promise<void> {
    const host = (() => { try { return new URL(s.endpoint).host } catch { return '?' } })()
    try {
      const r = webpush().generateRequestDetails({ endpoint: s.endpoint, keys: s.keys }, JSON.stringify(m), {
        vapidDetails: this.vapid, TTL: 3600, contentEncoding: 'aes128gcm',
      })
      const res = await fetch(r.endpoint, { method: r.method, headers: r.headers as Record<string, string>, body: new Uint8Array(r.body as Buffer), signal: AbortSignal.timeout(10_000), redirect: 'error' })
      await res.arrayBuffer().catch(() => undefined)
      if (res.status === 404 || res.status === 410) {
        this.unsubscribe(s.endpoint, s.user)
        this.log.info(`Web Push to ${s.user} (${s.label}, ${host}): the push service forgot this browser (HTTP ${res.status}); subscription removed`)
      } else if (!res.ok) this.log.warn(`Web Push to ${s.user} (${s.label}, ${host}): HTTP ${res.status}: ${m.message}`)
      else this.log.info(`Web Push to ${s.user} (${s.label}, ${host}): delivered (HTTP ${res.status}): ${m.message}`)
    } catch (err) {
      this.log.warn(`Web Push to ${s.user} (${s.label}, ${host}) failed: ${(err as Error).message}`)
    }
  }
}
