import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Logger } from '../log.js'
import { filesIn, pollFiles } from '../watch.js'
import { aclDecision, grantsFor } from './acl-eval.js'
import { parseAclFile } from './acl-file.js'
import { blur, blurPayload, finer } from './precision.js'
import { presencePayload, presenceRecord, type PresenceSource } from './presence-view.js'
import { parseDeviceTopic } from '../owntracks/topics.js'
import { compile, deviceFilter, mergeAclFiles, type CompiledRule, type CompiledTable } from './rules-compile.js'
import { stampCreated, writeAtomic } from './rules-edit.js'
import { parseRules } from './rules-file.js'
import { describeRule, describeShare } from './rules-text.js'
import type { AclFile, HistoryLimit, Precision, SharingRules } from './types.js'

/** Who is asking: an authenticated user (or null for an anonymous client) and their client id. */
export interface Identity {
  user: string | null
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
 * How one viewer sees one device: what every delivered or served message of that device goes through
 * (precision blur, stripped fields), and how far back the viewer may read its history.
 */
export interface DeviceView {
  transform(m: Record<string, unknown>): Record<string, unknown>
  /** Earliest tst (epoch s) the viewer may query back; 0 = all history; Infinity = live only. */
  historyFrom: number
  /** A presence-only view: records carry `presence` and, when away, no coordinates at all. */
  presence?: boolean
}

/** What the grants of one topic add up to for one viewer: the finest precision, the longest history. */
export interface ViewSpec { precision: Precision | null; history: HistoryLimit }

const FULL: ViewSpec = Object.freeze({ precision: null, history: true })
const identity = (m: Record<string, unknown>) => m

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
  private blurred = new WeakMap<object, Map<string, Buffer | null>>()
  private deliveries = new WeakMap<Identity, { generation: number; views: Map<string, ViewSpec | null> }>()
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
    this.compiled = compile(null, EMPTY, base, this.now())
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
    this.compiled = compile(this.rules, this.files, this.base, this.now())
    const still = new Set(this.compiled.active.map((s) => s.id + s.from))
    for (const s of before) {
      if (!still.has(s.id + s.from) && this.compiled.ended.some((e) => e.id === s.id && e.from === s.from)) {
        this.log?.info(`Share ended: ${describeShare(s)}; its deliveries stop now`)
      }
    }
    this.generation++
    this.cache.clear()
    this.views.clear()
    this.blurred = new WeakMap()
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

  /** The viewer's view of `<base>/<user>/<device>`, or null when they may not see it at all. */
  viewOf(who: Identity, user: string, device: string): DeviceView | null {
    const topic = deviceFilter(this.base, user, device)
    if (!this.canRead(who, topic)) return null
    const spec = this.viewSpec(who, topic)
    const p = spec.precision
    const nowS = Math.floor(this.now() / 1000)
    if (p?.kind === 'place') {
      // Presence is about now: what a device's coordinates were an hour ago is no place's business.
      const withheld = (m: Record<string, unknown>) => ({ _type: m._type, tst: m.tst, withheld: true })
      return { transform: (m) => presenceRecord(m, user, device, this.presence) ?? withheld(m), historyFrom: Infinity, presence: true }
    }
    return {
      transform: p ? (m) => blur(m, p) : identity,
      historyFrom: spec.history === true ? 0 : spec.history === false ? Infinity : nowS - spec.history,
    }
  }

  /**
   * The packet `who` receives for a delivery on `topic`: the same object, a changed copy (never mutate:
   * other receivers share it), or null when it must not reach them.
   */
  forward<P extends { topic: string; payload: Buffer | string }>(who: Identity, packet: P): P | null {
    if (this.now() >= this.compiled.nextChange) this.recompile()
    // Per connection (hooks keep one Identity object per client): one map lookup per delivery.
    let mine = this.deliveries.get(who)
    if (!mine || mine.generation !== this.generation) {
      mine = { generation: this.generation, views: new Map() }
      this.deliveries.set(who, mine)
    }
    let view = mine.views.get(packet.topic)
    if (view === undefined) {
      view = this.canRead(who, packet.topic) ? this.viewSpec(who, packet.topic) : null
      if (mine.views.size > 10_000) mine.views.clear()
      mine.views.set(packet.topic, view)
    }
    if (view === null) return null
    const p = view.precision
    if (!p) return packet
    // One published message fans out to many receivers; blur it once per precision.
    let perPacket = this.blurred.get(packet)
    if (!perPacket) { perPacket = new Map(); this.blurred.set(packet, perPacket) }
    let payload = perPacket.get(p.text)
    if (payload === undefined) {
      const raw = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
      if (p.kind === 'place') {
        const dt = parseDeviceTopic(packet.topic, this.base)
        payload = dt ? presencePayload(raw, dt.user, dt.device, this.presence ?? { at: () => undefined, awaySince: () => undefined, place: () => undefined }) : null
      } else payload = blurPayload(raw, p)
      perPacket.set(p.text, payload)
    }
    return payload === null ? null : { ...packet, payload }
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
    return { precision: precision ?? null, history }
  }

  private evaluate(who: Identity, topic: string, want: 'read' | 'write'): Decision {
    const sys = topic.startsWith('$SYS')
    if (want === 'write' && sys) return { allowed: false, reason: '$SYS topics are the broker\'s' }
    if (this.isAdmin(who)) return { allowed: true, reason: 'admin' }
    if (who.user !== null && who.user === this.opts.homeassistant && (want === 'read' ? topic.startsWith('homeassistant/') : topic === 'homeassistant/status')) {
      // The hub publishes there only what this user may see (places/homeassistant.ts).
      return { allowed: true, reason: 'Home Assistant discovery (--homeassistant-user)' }
    }
    const d = aclDecision(this.compiled.acl, who.user, who.clientId, topic, want)
    const rule = d.rule as CompiledRule | undefined
    if (!rule) return { allowed: false, reason: d.reason ?? 'no rule grants it' }
    if (rule.builtin) return { allowed: d.allowed, reason: `own topics ${rule.topic.replace('%u', who.user ?? '%u')}`, rule }
    return { allowed: d.allowed, reason: describeRule(rule), rule }
  }
}
