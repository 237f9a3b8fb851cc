import { ALERTS_PREFIX } from '../access/access.js'
import type { Logger } from '../log.js'
import type { Places } from '../places/places.js'
import type { Transition } from '../places/presence.js'
import type { AlertRule } from '../places/types.js'
import { hhmm, localTime, within } from './local-time.js'
import type { AlertMessage } from './types.js'
import type { WebPush } from './web-push.js'
import type { Webhooks } from './webhooks.js'

export interface AlertDeps {
  places: Places
  webhooks: Webhooks
  push?: WebPush
  log: Logger
  /** The devices a person has (for "not arrived by": at any of them). */
  devicesOf: (user: string) => string[]
  /** Publishes an alert to one receiver's MQTT topic (alertTopic). */
  mqtt?: (user: string, m: AlertMessage) => void
  now?: () => number
  /** How many times as fast as real time `now` runs (a test clock); default 1. */
  rate?: number
  /** Whether this process sends the alerts due at a time of day (on a cluster, one node does: cluster/clock.ts). */
  keepsClock?: () => boolean
}

/** Where an MQTT client of `user` (an app, Home Assistant, Node-RED) receives the alerts sent to them; only they and admins read it. */
export const alertTopic = (user: string) => ALERTS_PREFIX + user

/**
 * The `alerts:` of acl/places.yml: who is told of whose places. Enter and leave come from the hub's
 * transitions; "not arrived by" from a clock that looks just after each whole minute (tick(); the
 * clock is injectable, for tests). Quiet hours and days are read on the file's time zone. MQTT
 * subscribers get the transition itself through the sharing rules; here go each receiver's alert
 * topic, Web Push and webhooks.
 */
export class Alerts {
  private readonly now: () => number
  private lastTick: number
  private timer?: NodeJS.Timeout

  constructor(private readonly d: AlertDeps) {
    this.now = d.now ?? Date.now
    this.lastTick = this.now()
  }

  start(): void {
    const rate = this.d.rate ?? 1
    const next = () => {
      // 50 ms past the next whole minute of the clock; a timer that fires early only ticks once more.
      const wait = (60_000 - (this.now() % 60_000) + 50) / rate
      this.timer = setTimeout(() => { this.tick(); next() }, Math.max(wait, 5))
      this.timer.unref()
    }
    next()
  }

  close(): void { clearTimeout(this.timer) }

  private allowed(rule: AlertRule, ms: number): boolean {
    const t = localTime(ms, this.d.places.current.timezone)
    if (!rule.days.includes(t.day)) return false
    if (rule.quiet && within(rule.quiet, t.minutes)) {
      this.d.log.info(`Alert (${rule.where.file} line ${rule.where.line}) not sent: quiet hours ${hhmm(rule.quiet.from)}-${hhmm(rule.quiet.to)}`)
      return false
    }
    return true
  }

  transition(t: Transition): void {
    for (const rule of this.d.places.current.alerts) {
      if (rule.about !== t.user || !rule.on.includes(t.event)) continue
      if (rule.places && !rule.places.includes(t.place.name)) continue
      if (!this.allowed(rule, this.now())) continue
      const at = localTime(t.tst * 1000, this.d.places.current.timezone)
      const verb = t.event === 'enter' ? 'arrived at' : 'left'
      this.deliver(rule, {
        title: `${t.user} ${verb} ${t.place.name}`,
        message: `${t.user} ${verb} ${t.place.name} at ${hhmm(at.minutes)}`,
        tags: [t.event === 'enter' ? 'house' : 'wave'],
        event: t.event, user: t.user, device: t.device, place: t.place.name, tst: t.tst,
      })
    }
  }

  /** Looks at the clock: every "not arrived by" whose time passed since the last look fires if nobody is there. */
  tick(): void {
    const now = this.now()
    const prev = this.lastTick
    this.lastTick = now
    if (this.d.keepsClock && !this.d.keepsClock()) return
    const { timezone } = this.d.places.current
    const a = localTime(prev, timezone)
    const b = localTime(now, timezone)
    for (const rule of this.d.places.current.alerts) {
      const by = rule.notArrivedBy
      if (by === null || !rule.places) continue
      const passed = a.date === b.date ? a.minutes < by && by <= b.minutes : by <= b.minutes
      if (!passed || !this.allowed(rule, now)) continue
      const devices = this.d.devicesOf(rule.about)
      if (this.d.places.tracker.personIn(rule.about, rule.places, devices)) continue
      const where = rule.places.join(' or ')
      this.deliver(rule, {
        title: `${rule.about} is not at ${where}`,
        message: `${rule.about} has not arrived at ${where} by ${hhmm(by)}`,
        tags: ['warning'],
        event: 'not-arrived', user: rule.about, place: rule.places[0], tst: Math.floor(now / 1000),
      })
    }
  }

  private deliver(rule: AlertRule, m: AlertMessage): void {
    this.d.log.info(`Alert (${rule.where.file} line ${rule.where.line}): ${m.message}; to ${[...rule.to, ...rule.webhooks.map(() => 'webhook')].join(', ') || 'nobody'}`)
    for (const url of rule.webhooks) this.d.webhooks.send(url, m)
    if (rule.push && this.d.push) for (const user of rule.to) this.d.push.send(user, m)
    if (this.d.mqtt) for (const user of rule.to) this.d.mqtt(user, m)
  }
}
