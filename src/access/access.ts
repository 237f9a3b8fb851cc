import { readFileSync } from 'node:fs'
import type { Logger } from '../log.js'
import { filesIn, pollFiles } from '../watch.js'
import { aclDecision } from './acl-eval.js'
import { parseAclFile } from './acl-file.js'
import { topicMatches } from './topic-match.js'
import type { AclFile, AclRule } from './types.js'

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
  rule?: AclRule
}

/**
 * How one viewer sees one device: what every delivered or served message of that device goes through
 * (precision blur, stripped fields), and how far back the viewer may read its history.
 */
export interface DeviceView {
  transform(m: Record<string, unknown>): Record<string, unknown>
  /** Earliest tst (epoch s) the viewer may query back; 0 = all history; Infinity = live only. */
  historyFrom: number
}

const FULL_VIEW: DeviceView = { transform: (m) => m, historyFrom: 0 }

const EMPTY: AclFile = { anonymous: [], users: new Map(), patterns: [] }

/**
 * The one place that decides who may read and write which topic; every MQTT hook and every HTTP
 * endpoint asks here. Built-in rules: a user reads and writes `<base>/<self>/#`; an admin reads
 * everything and writes anything but `$SYS/…`; the rest is denied unless an `acl/*.acl` rule
 * (Mosquitto syntax) grants it. A `deny` line wins over everything but the admin role.
 * Decisions are cached per user and topic, so the per-message cost is a map lookup.
 */
export class AccessControl {
  private acl: AclFile = EMPTY
  private cache = new Map<string, Map<string, Decision>>()
  private stop?: () => void

  constructor(private readonly aclDir: string, private readonly base: string, private readonly log?: Logger) {}

  /** Loads acl/*.acl; on a bad file logs file, line and reason and keeps the rules in force. */
  load(): boolean {
    const merged: AclFile = { anonymous: [], users: new Map(), patterns: [] }
    try {
      for (const file of filesIn(this.aclDir, ['.acl'])) {
        const acl = parseAclFile(readFileSync(file, 'utf8'), file)
        merged.anonymous.push(...acl.anonymous)
        merged.patterns.push(...acl.patterns)
        for (const [u, rules] of acl.users) merged.users.set(u, [...(merged.users.get(u) ?? []), ...rules])
      }
    } catch (err) {
      this.log?.error(`${(err as Error).message}; the previous access rules stay in force`)
      return false
    }
    this.acl = merged
    this.cache.clear()
    return true
  }

  watch(onChange?: () => void): void {
    this.stop = pollFiles(() => filesIn(this.aclDir, ['.acl']), () => {
      if (this.load()) { this.log?.info(`Reloaded access rules from ${this.aclDir}`); onChange?.() }
    })
  }

  close(): void { this.stop?.() }

  canRead(who: Identity, topic: string): boolean { return this.decide(who, topic, 'read').allowed }

  /** The viewer's view of `<base>/<user>/<device>`, or null when they may not see it at all. */
  viewOf(who: Identity, user: string, device: string): DeviceView | null {
    return this.canRead(who, `${this.base}/${user}/${device}`) ? FULL_VIEW : null
  }

  /**
   * The packet `who` receives for a delivery on `topic`: the same object, a changed copy (never mutate:
   * other receivers share it), or null when it must not reach them.
   */
  forward<P extends { topic: string; payload: Buffer | string }>(who: Identity, packet: P): P | null {
    return this.canRead(who, packet.topic) ? packet : null
  }
  canWrite(who: Identity, topic: string): boolean { return this.decide(who, topic, 'write').allowed }

  decide(who: Identity, topic: string, want: 'read' | 'write'): Decision {
    const key = `${want}\x00${who.clientId}`
    const bucket = `${who.user ?? ''}\x00${who.admin ? 'a' : ''}`
    let perUser = this.cache.get(bucket)
    if (!perUser) { perUser = new Map(); this.cache.set(bucket, perUser) }
    const ck = key + '\x00' + topic
    let d = perUser.get(ck)
    if (!d) {
      d = this.evaluate(who, topic, want)
      if (perUser.size > 10_000) perUser.clear()
      perUser.set(ck, d)
    }
    return d
  }

  private evaluate(who: Identity, topic: string, want: 'read' | 'write'): Decision {
    const sys = topic.startsWith('$SYS')
    if (want === 'write' && sys) return { allowed: false, reason: '$SYS topics are the broker\'s' }
    if (who.admin) return { allowed: true, reason: 'admin' }
    const fromAcl = aclDecision(this.acl, who.user, who.clientId, topic, want)
    if (!fromAcl.allowed && fromAcl.rule?.access === 'deny') {
      return { allowed: false, reason: where(fromAcl.rule), rule: fromAcl.rule }
    }
    if (who.user !== null && !sys && topicMatches(`${this.base}/${who.user}/#`, topic)) {
      return { allowed: true, reason: `own topics ${this.base}/${who.user}/#` }
    }
    if (fromAcl.allowed) return { allowed: true, reason: fromAcl.rule ? where(fromAcl.rule) : 'acl', rule: fromAcl.rule }
    return { allowed: false, reason: 'no rule grants it' }
  }
}

const where = (r: AclRule) => `${r.source.file} line ${r.source.line}`
