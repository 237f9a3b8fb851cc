import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Logger } from '../log.js'
import { filesIn, pollFiles } from '../watch.js'
import { aclDecision, grantsFor } from './acl-eval.js'
import { parseAclFile } from './acl-file.js'
import { finer } from './precision.js'
import { presenceRecord, VisitRecords, type PresenceSource } from './presence-view.js'
import { compileRules, deviceFilter, mergeAclFiles, type CompiledRule, type CompiledTable } from './rules-compile.js'
import { stampCreated, writeAtomic } from './rules-edit.js'
import { parseRules } from './rules-file.js'
import { describeRule, describeShare } from './rules-text.js'
import type { AclFile, HistoryLimit, Part, Precision, SharingRules } from './types.js'
import { shape } from './view-fields.js'

/** Who is asking: an authenticated user (or null for an anonymous client) and their client id. */
export interface Identity {
  user: string | null
  /**
   * Only for an Identity without a user: the hub's own control socket (true) or an anonymous client
   * (false). Whether a named user is an admin is isAdmin()'s decision, asked each time.
   */
  admin: boolean
  clientId: string
}

export interface Decision {
  allowed: boolean
  /** Why, in words a person can act on ("own topics", "admin", "acl/family.acl line 4", "no rule"). */
  reason: string
  rule?: CompiledRule
}

/**
 * What the grants of one topic add up to for one viewer: the finest precision, the longest history.
 * `shared` is false when the owner, an admin or a plain acl_file line reads it: then the topic is
 * theirs to read as published. When only shares grant it, each message goes through view-fields.ts.
 */
export interface ViewSpec { precision: Precision | null; history: HistoryLimit; shared: boolean }

/**
 * How one viewer may see one topic's deliveries: its view, which part of a device the topic is, and
 * whose device (a presence-only view asks where that device is).
 */
export interface TopicView { spec: ViewSpec; part: Part | null; user?: string; device?: string }

const FULL: ViewSpec = Object.freeze({ precision: null, history: true, shared: false })

/** A view that is no share's: the messages as published. */
const asPublished = (view: TopicView): boolean => !view.spec.shared
const PART_SUFFIX: Record<Part, string> = { location: '', events: '/event', card: '/info' }

/** The hub's users as access needs them: who exists (names a rule may use) and who is an admin. */
export interface UserDirectory {
  list(): { name: string }[]
  isAdmin(user: string): boolean
}

export interface AccessOptions {
  /** Live user list and admin role; without it, Identity.admin is trusted as given. */
  users?: UserDirectory
  /** Write `created:` into the rules file for `for:` shares that lack it (the running hub does; `acl show` does not). */
  stampCreated?: boolean
  now?: () => number
  /** The user Home Assistant connects as (--homeassistant-user): reads `homeassistant/#`, writes its `homeassistant/status`. */
  homeassistant?: string
}

const EMPTY: AclFile = { anonymous: [], users: new Map(), patterns: [] }

/** `othub/alerts/<user>`: the alerts of acl/places.yml sent to that user (alerts/alerts.ts); only they and admins read it, only the hub writes. */
export const ALERTS_PREFIX = 'othub/alerts/'

/** A path as people know it: `acl/sharing.yml` when it is below the working directory. */
function shown(path: string): string {
  const r = relative(process.cwd(), path)
  return r.startsWith('..') || r === '' ? path : r
}

/**
 * The one place that decides who may read and write which topic, and how a reader sees it; every MQTT
 * hook and every HTTP endpoint asks here. The rules (acl/sharing.yml and acl/*.acl, see
 * rules-compile.ts) are compiled into one Mosquitto acl_file on load; an admin reads everything and
 * writes anything but `$SYS/…`. Decisions and views are cached per user and topic, so the per-message
 * cost is a map lookup; every reload and every time box ending drops the caches, and because aedes
 * asks per delivery, a revoked share stops on existing subscriptions at once.
 */
export class AccessControl {
  readonly rulesFile: string
  private files: AclFile = EMPTY
  private rules: CompiledTable['rules'] = null
  private compiled: CompiledTable
  private cache = new Map<string, Map<string, Decision>>()
  private views = new Map<string, ViewSpec>()
  private deliveries = new WeakMap<Identity, { generation: number; views: Map<string, TopicView | null> }>()
  /** Bumped whenever the table changes: every per-connection cache built before is stale. */
  private generation = 0
  private error: string | undefined
  private stop?: () => void
  private timer?: NodeJS.Timeout
  private readonly now: () => number
  /** Who is at which place, for presence-only shares (`precision: place`); set by the hub once places load. */
  presence?: PresenceSource

  constructor(private readonly aclDir: string, private readonly base: string, private readonly log?: Logger, private readonly opts: AccessOptions = {}) {
    this.rulesFile = join(aclDir, 'sharing.yml')
    this.now = opts.now ?? Date.now
    this.compiled = compileRules(null, EMPTY, base, this.now())
  }

  /** The rules in force. */
  get table(): CompiledTable { return this.compiled }
  /** Why the last load was refused (file, line, reason), or undefined when the files on disk are in force. */
  get lastError(): string | undefined { return this.error }

  /** Loads acl/sharing.yml and acl/*.acl; on a bad file logs file, line and reason and keeps the rules in force. */
  load(): boolean {
    let rules: CompiledTable['rules'] = null
    let files: AclFile
    try {
      files = mergeAclFiles(filesIn(this.aclDir, ['.acl']).map((f) => parseAclFile(readFileSync(f, 'utf8'), shown(f))))
      if (existsSync(this.rulesFile)) {
        const text = readFileSync(this.rulesFile, 'utf8')
        const now = this.now()
        rules = this.check(text)
        const stamped = this.opts.stampCreated ? stampCreated(text, now) : null
        if (stamped !== null) {
          writeAtomic(this.rulesFile, stamped)
          rules = this.check(stamped)
          this.log?.info(`${shown(this.rulesFile)}: wrote 'created:' beside 'for:' so the time box counts from now, also after a restart`)
        }
      }
    } catch (err) {
      this.error = (err as Error).message
      this.log?.error(`${this.error}; the previous access rules stay in force`)
      return false
    }
    this.error = undefined
    this.files = files
    this.rules = rules
    this.recompile()
    return true
  }

  /** Parses a would-be rules file exactly as load() would; throws RulesError naming the line. */
  check(text: string): SharingRules {
    return parseRules(text, shown(this.rulesFile), { users: this.opts.users?.list().map((u) => u.name), now: this.now() })
  }

  /** Replaces the rules file atomically (keeping its mode) and applies it at once. */
  save(text: string): boolean {
    writeAtomic(this.rulesFile, text)
    return this.load()
  }

  watch(onChange?: () => void): void {
    this.stop = pollFiles(() => [...filesIn(this.aclDir, ['.acl']), this.rulesFile], () => {
      if (this.load()) { this.log?.info(`Reloaded access rules from ${this.aclDir}`); onChange?.() }
    })
  }

  close(): void {
    this.stop?.()
    clearTimeout(this.timer)
  }

  /** Builds the table for this instant, drops every cached decision, and arms the next time box. */
  private recompile(): void {
    const before = this.compiled.active
    this.compiled = compileRules(this.rules, this.files, this.base, this.now())
    const still = new Set(this.compiled.active.map((s) => s.id + s.from))
    for (const s of before) {
      if (!still.has(s.id + s.from) && this.compiled.ended.some((e) => e.id === s.id && e.from === s.from)) {
        this.log?.info(`Share ended: ${describeShare(s)}; its deliveries stop now`)
      }
    }
    this.generation++
    this.cache.clear()
    this.views.clear()
    clearTimeout(this.timer)
    const next = this.compiled.nextChange
    if (Number.isFinite(next)) {
      // setTimeout holds at most ~24.8 days; a later end re-arms on the way.
      this.timer = setTimeout(() => this.recompile(), Math.min(Math.max(next - this.now(), 0), 2 ** 31 - 1))
      this.timer.unref()
    }
  }

  isAdmin(who: Identity): boolean {
    // No user name: an anonymous client (admin false) or the hub's own control socket (admin true).
    if (who.user === null) return who.admin
    const base = this.opts.users ? this.opts.users.isAdmin(who.user) : who.admin
    return base || this.compiled.admins.has(who.user)
  }

  canRead(who: Identity, topic: string): boolean { return this.decide(who, topic, 'read').allowed }
  canWrite(who: Identity, topic: string): boolean { return this.decide(who, topic, 'write').allowed }

  /**
   * The one visibility decision: what `who` gets of `message`, published on `topic`, or null when
   * nothing of it may reach them. Every channel asks here — MQTT deliveries (live, retained, queued),
   * /api/0/*, /ws/last, HTTP mode's answer, the map, cards, tours, exports — with the topic the message
   * has (stored locations: the device topic; cards: `…/info`; transitions: `…/event`), so include,
   * precision and time boxes (the compiled ACL) and the field table (view-fields.ts) apply alike.
   * History windows are for range reads: historyFrom(). Never mutates; returns `message` itself when
   * the viewer sees it as published.
   */
  present(who: Identity, topic: string, message: Record<string, unknown>): Record<string, unknown> | null {
    const view = this.topicView(who, topic)
    return view === null ? null : this.apply(view, message)
  }

  /**
   * Whether `who` reads `topic` as published (the owner, an admin, a plain acl_file line): present()
   * then returns every message unchanged, so a reader may serve the stored text as it is.
   */
  readsAsPublished(who: Identity, topic: string): boolean {
    const view = this.topicView(who, topic)
    return view !== null && asPublished(view)
  }

  /** present() for a viewer whose TopicView is already known (a delivery fanned out to many). */
  apply(view: TopicView, message: Record<string, unknown>): Record<string, unknown> | null {
    if (asPublished(view)) return message
    if (view.part === null) return null
    const p = view.spec.precision
    if (p?.kind === 'place') {
      // Which of the sharer's places, or away, and since when: presence-view.ts, after the part's own types.
      if (shape(message, view.part, null) === null || view.user === undefined || view.device === undefined) return null
      return presenceRecord(message, view.user, view.device, this.presence)
    }
    return shape(message, view.part, p)
  }

  /** How `who` sees `topic`, or null when they may not read it. */
  topicView(who: Identity, topic: string): TopicView | null {
    if (!this.canRead(who, topic)) return null
    const spec = this.viewSpec(who, topic)
    if (spec.precision?.kind !== 'place') return { spec, part: this.partOf(topic) }
    const levels = topic.slice(this.base === '' ? 0 : this.base.length + 1).split('/')
    return { spec, part: this.partOf(topic), user: levels[0], device: levels[1] }
  }

  /** Earliest tst (epoch s) `who` may read of the device's history: 0 = all, Infinity = live only; null = not at all. */
  historyFrom(who: Identity, user: string, device: string): number | null {
    const topic = deviceFilter(this.base, user, device)
    if (!this.canRead(who, topic)) return null
    const h = this.viewSpec(who, topic).history
    return h === true ? 0 : h === false ? Infinity : Math.floor(this.now() / 1000) - h
  }

  /**
   * Whether `who` sees the device only as which of its owner's places it is in (`precision: place`):
   * then its history is the place visits (presence-view.ts, VisitRecords), never the stored fixes.
   */
  presenceOnly(who: Identity, user: string, device: string): boolean {
    const topic = deviceFilter(this.base, user, device)
    return this.canRead(who, topic) && this.viewSpec(who, topic).precision?.kind === 'place'
  }

  /** For a presence-only viewer of the device (presenceOnly), the fold that turns its stored transitions into their history. */
  visits(who: Identity, user: string, device: string): VisitRecords | null {
    return this.presenceOnly(who, user, device) ? new VisitRecords(user, device, this.presence) : null
  }

  /** The topic of one part of a device, as the sharing rules name it. */
  partTopic(user: string, device: string, part: Part): string {
    return deviceFilter(this.base, user, device, PART_SUFFIX[part])
  }

  /** Which part of a device `topic` is: `<base>/<u>/<d>` location, `…/event` events, `…/info` card. */
  private partOf(topic: string): Part | null {
    const pre = this.base === '' ? '' : this.base + '/'
    if (!topic.startsWith(pre)) return null
    const levels = topic.slice(pre.length).split('/')
    if (levels.length === 2) return 'location'
    if (levels.length === 3) return levels[2] === 'event' ? 'events' : levels[2] === 'info' ? 'card' : null
    return null
  }

  /**
   * The view for a delivery of `topic` to `who`, cached per connection (hooks keep one Identity per
   * client), so a fan-out costs one map lookup per receiver.
   */
  deliveryView(who: Identity, topic: string): TopicView | null {
    if (this.now() >= this.compiled.nextChange) this.recompile()
    let mine = this.deliveries.get(who)
    if (!mine || mine.generation !== this.generation) {
      mine = { generation: this.generation, views: new Map() }
      this.deliveries.set(who, mine)
    }
    let view = mine.views.get(topic)
    if (view === undefined) {
      view = this.topicView(who, topic)
      if (mine.views.size > 10_000) mine.views.clear()
      mine.views.set(topic, view)
    }
    return view
  }

  decide(who: Identity, topic: string, want: 'read' | 'write'): Decision {
    if (this.now() >= this.compiled.nextChange) this.recompile() // a time box ended before its timer ran
    const bucket = `${who.user ?? ''}\x00${who.admin ? 'a' : ''}`
    let perUser = this.cache.get(bucket)
    if (!perUser) { perUser = new Map(); this.cache.set(bucket, perUser) }
    const ck = `${want}\x00${who.clientId}\x00${topic}`
    let d = perUser.get(ck)
    if (!d) {
      d = this.evaluate(who, topic, want)
      if (perUser.size > 10_000) perUser.clear()
      perUser.set(ck, d)
    }
    return d
  }

  /** Precision and history for a topic the viewer may read: the least restricted of all that grant it. */
  viewSpec(who: Identity, topic: string): ViewSpec {
    if (this.isAdmin(who)) return FULL
    const key = `${who.user ?? ''}\x00${who.clientId}\x00${topic}`
    let v = this.views.get(key)
    if (!v) {
      v = this.combine(grantsFor(this.compiled.acl, who.user, who.clientId, topic, 'read') as CompiledRule[])
      if (this.views.size > 100_000) this.views.clear()
      this.views.set(key, v)
    }
    return v
  }

  private combine(grants: CompiledRule[]): ViewSpec {
    if (grants.length === 0 || grants.some((g) => !g.share)) return FULL
    let precision: Precision | null | undefined
    let history: HistoryLimit = false
    for (const g of grants) {
      const s = g.share!
      precision = precision === undefined ? s.precision : finer(precision, s.precision)
      if (history !== true && s.history !== false) history = s.history === true ? true : Math.max(history === false ? 0 : history, s.history)
    }
    return { precision: precision ?? null, history, shared: true }
  }

  private evaluate(who: Identity, topic: string, want: 'read' | 'write'): Decision {
    const sys = topic.startsWith('$SYS')
    if (want === 'write' && sys) return { allowed: false, reason: '$SYS topics are the broker\'s' }
    if (this.isAdmin(who)) return { allowed: true, reason: 'admin' }
    if (who.user !== null && who.user === this.opts.homeassistant && (want === 'read' ? topic.startsWith('homeassistant/') : topic === 'homeassistant/status')) {
      // The hub publishes there only what this user may see (places/homeassistant.ts).
      return { allowed: true, reason: 'Home Assistant discovery (--homeassistant-user)' }
    }
    if (who.user !== null && want === 'read' && topic === ALERTS_PREFIX + who.user) return { allowed: true, reason: 'own alerts (acl/places.yml)' }
    const d = aclDecision(this.compiled.acl, who.user, who.clientId, topic, want)
    const rule = d.rule as CompiledRule | undefined
    if (!rule) return { allowed: false, reason: d.reason ?? 'no rule grants it' }
    if (rule.builtin) return { allowed: d.allowed, reason: `own topics ${rule.topic.replace('%u', who.user ?? '%u')}`, rule }
    return { allowed: d.allowed, reason: describeRule(rule), rule }
  }
}
