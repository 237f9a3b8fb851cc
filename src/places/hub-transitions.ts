import { HUB_ORIGIN } from '../ingest.js'
import type { Publish } from '../mqtt/publish.js'
import type { Logger } from '../log.js'
import { deviceTopic } from '../owntracks/topics.js'
import type { HistoryStore } from '../store/types.js'
import type { Places } from './places.js'
import type { Transition } from './presence.js'

/** The OwnTracks transition the hub records and publishes for a place crossed: marked `hub: true`. */
export function transitionMessage(t: Transition, tid: string | undefined): Record<string, unknown> {
  const m: Record<string, unknown> = {
    _type: 'transition', event: t.event, desc: t.place.name, t: 'c', tst: t.tst, wtst: 0,
    lat: t.fix.lat, lon: t.fix.lon, rid: rid(t.place.id), hub: true,
  }
  if (typeof t.fix.acc === 'number') m.acc = t.fix.acc
  if (tid) m.tid = tid
  return m
}

/** The region id phones get for a hub place (setWaypoints) and hub transitions name: stable per place. */
export function rid(placeId: string): string {
  let h = 2166136261
  for (const c of placeId) h = Math.imul(h ^ c.codePointAt(0)!, 16777619) >>> 0
  return 'hub-' + h.toString(16).padStart(8, '0')
}

const MAX_QUEUE = 10_000

/**
 * Each fix the history stored goes past the tracker (synchronously, so the device's presence is up to
 * date before anyone is told of the fix); the transitions it causes are stored as the device's own
 * history, published on `<base>/<user>/<device>/event` (delivered by the sharing rules like a phone's
 * events) and handed on to the alerts. All of that runs after the publisher's acknowledgement, one
 * transition at a time, in a bounded queue.
 */
export class HubTransitions {
  private queue: { t: Transition; tid?: string }[] = []
  private running = false
  private dropped = 0
  private idle: (() => void)[] = []

  constructor(private readonly d: {
    places: Places
    history: HistoryStore
    publish: Publish
    base: string
    log: Logger
    onTransition: (t: Transition) => void
  }) {}

  /** Reads the newest hub transitions per device and place, so a restart does not repeat an enter. */
  async restore(): Promise<void> {
    const now = Math.floor(Date.now() / 1000) + 86400
    for (const dev of this.d.history.devices()) {
      const places = this.d.places.placesOf(dev.user)
      if (places.length === 0) continue
      const seen = new Set<string>()
      const rows: Record<string, unknown>[] = []
      for await (const r of this.d.history.records(dev.user, dev.device, 'transition', { from: 0, to: now, limit: 500 })) rows.push(r)
      for (const r of rows.reverse()) {
        if (r.hub !== true) continue
        const p = places.find((x) => rid(x.id) === r.rid)
        if (!p || seen.has(p.id)) continue
        seen.add(p.id)
        this.d.places.tracker.restore(dev.user, dev.device, p.id, { inside: r.event === 'enter', since: Number(r.tst) })
      }
    }
  }

  /** Called once a record is committed. */
  stored(user: string, device: string, message: Record<string, unknown>): void {
    if (message._type !== 'location' || typeof message.lat !== 'number' || typeof message.lon !== 'number' || typeof message.tst !== 'number') return
    const ts = this.d.places.tracker.observe(user, device, { lat: message.lat, lon: message.lon, acc: typeof message.acc === 'number' ? message.acc : undefined, tst: message.tst })
    for (const t of ts) {
      if (this.queue.length >= MAX_QUEUE) {
        if (this.dropped++ % 1000 === 0) this.d.log.error(`Place transitions are arriving faster than they are stored; dropped ${this.dropped} (${user}/${device} ${t.event} ${t.place.name})`)
        continue
      }
      this.queue.push({ t, tid: typeof message.tid === 'string' ? message.tid : undefined })
    }
    if (ts.length && !this.running) void this.run()
  }

  /** Resolves when every queued transition is stored and published (tests, stop). */
  drained(): Promise<void> {
    return this.running ? new Promise((r) => this.idle.push(r)) : Promise.resolve()
  }

  private async run(): Promise<void> {
    this.running = true
    while (this.queue.length) {
      const { t, tid } = this.queue.shift()!
      const topic = deviceTopic(t.user, t.device, 'event', this.d.base)
      const message = transitionMessage(t, tid)
      try {
        // Stored like any publish (Broker.publish goes through the ingest), then delivered per receiver.
        await this.d.publish({ topic, payload: Buffer.from(JSON.stringify(message)), qos: 1, retain: false }, HUB_ORIGIN)
        this.d.log.info(`Place: ${t.user}/${t.device} ${t.event === 'enter' ? 'entered' : 'left'} ${t.place.name} at ${new Date(t.tst * 1000).toISOString()} (${topic})`)
      } catch (err) {
        this.d.log.error(`Place transition ${t.user}/${t.device} ${t.event} ${t.place.name} could not be stored or published: ${(err as Error).message}`)
      }
      try { this.d.onTransition(t) } catch (err) { this.d.log.error(`Alerts for ${t.user}/${t.device} ${t.event} ${t.place.name} failed: ${(err as Error).message}`) }
    }
    this.running = false
    for (const r of this.idle.splice(0)) r()
  }
}
