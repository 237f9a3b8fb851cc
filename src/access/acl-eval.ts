import { topicMatches } from './topic-match.js'
import type { AclFile, AclRule } from './types.js'

/*
 * Mosquitto 2.0's acl_file decision (security_default.c, checked rule by rule against 2.0.11):
 *   1. The client's own list: the user's `topic` lines, or for an anonymous client the lines before
 *      the first `user`. Denies are tried first: a matching `deny` refuses, a matching grant with the
 *      wanted access allows. Either ends the decision; patterns are not consulted.
 *   2. Only then `pattern` lines, with %u / %c replaced by username / client id, again denies first.
 *      A pattern containing %u never applies to an anonymous client; one with only %c (or neither) does.
 *      If any pattern exists, a username or client id containing '+' or '#' is refused outright, since
 *      substituting it would turn the rule into a wildcard.
 *   3. Nothing matched: refused.
 * So "deny wins" holds within the user's list and within the patterns, but a user's own grant beats
 * a pattern deny, and a user's own deny beats a pattern grant.
 * Subscribing is always allowed; each message is checked for `read` on delivery (retained ones too).
 */

export type Want = 'read' | 'write'

export interface AclDecision {
  allowed: boolean
  /** The line that decided, when one did (for patterns: the line as written, with %u / %c). */
  rule?: AclRule
  /** Why, when no rule decided. */
  reason?: string
}

const READ = 1
const WRITE = 2

interface Entry {
  topic: string
  /** 0 = deny, else READ | WRITE bits. */
  mask: number
  /** What this entry answers when it decides, built once: this runs per message. */
  decision: Readonly<AclDecision>
}

interface Pattern {
  rule: AclRule
  mask: number
  usesUser: boolean
  /** Literals at even indexes, placeholders ('c' or 'u') at odd ones, so substitution is a join. */
  parts: string[]
}

interface Compiled {
  anonymous: Entry[]
  users: Map<string, Entry[]>
  patterns: Pattern[]
  /** Patterns substituted for one user + client id; a client asks the same thing for every message. */
  perClient: Map<string, Entry[]>
}

const MAX_CLIENTS = 10_000
const compiledFiles = new WeakMap<AclFile, Compiled>()

const maskOf = (r: AclRule): number =>
  r.access === 'deny' ? 0 : r.access === 'read' ? READ : r.access === 'write' ? WRITE : READ | WRITE

const entry = (topic: string, rule: AclRule): Entry => {
  const mask = maskOf(rule)
  return { topic, mask, decision: Object.freeze({ allowed: mask !== 0, rule }) }
}

const NO_RULE: Readonly<AclDecision> = Object.freeze({ allowed: false, reason: 'no rule grants it' })

/** Mosquitto puts deny lines in front of grants; keep file order within each group. */
function ordered(rules: AclRule[]): Entry[] {
  const entries = rules.map((rule) => entry(rule.topic, rule))
  return [...entries.filter((e) => e.mask === 0), ...entries.filter((e) => e.mask !== 0)]
}

function compilePattern(rule: AclRule): Pattern {
  const parts: string[] = []
  const t = rule.topic
  let from = 0
  for (let i = 0; i < t.length - 1; i++) {
    // Same scan as Mosquitto: '%' followed by 'c' or 'u' is a placeholder, any other '%' is literal.
    if (t[i] === '%' && (t[i + 1] === 'c' || t[i + 1] === 'u')) {
      parts.push(t.slice(from, i), t[i + 1])
      i++
      from = i + 1
    }
  }
  parts.push(t.slice(from))
  return { rule, mask: maskOf(rule), usesUser: parts.some((p, i) => i % 2 === 1 && p === 'u'), parts }
}

/**
 * Compiles an AclFile once (cached per object). Treat an AclFile as immutable once it has been asked
 * about: reload by parsing a new one.
 */
function compileAclFile(acl: AclFile): Compiled {
  let c = compiledFiles.get(acl)
  if (!c) {
    const users = new Map<string, Entry[]>()
    for (const [name, rules] of acl.users) users.set(name, ordered(rules))
    const pats = acl.patterns.map(compilePattern)
    c = {
      anonymous: ordered(acl.anonymous),
      users,
      patterns: [...pats.filter((p) => p.mask === 0), ...pats.filter((p) => p.mask !== 0)],
      perClient: new Map(),
    }
    compiledFiles.set(acl, c)
  }
  return c
}

function patternsFor(c: Compiled, user: string | null, clientId: string): Entry[] {
  const key = user === null ? `\x01${clientId}` : `${user}\x00${clientId}`
  let list = c.perClient.get(key)
  if (list) return list
  list = []
  for (const p of c.patterns) {
    if (p.usesUser && user === null) continue
    let topic = p.parts[0]
    for (let i = 1; i < p.parts.length; i += 2) topic += (p.parts[i] === 'c' ? clientId : user!) + p.parts[i + 1]
    list.push(entry(topic, p.rule))
  }
  if (c.perClient.size >= MAX_CLIENTS) c.perClient.delete(c.perClient.keys().next().value as string)
  c.perClient.set(key, list)
  return list
}

/** First matching entry decides: a deny refuses, a grant with the wanted bit allows. */
function scan(entries: Entry[], topic: string, bit: number): Readonly<AclDecision> | undefined {
  for (const e of entries) {
    if (!topicMatches(e.topic, topic)) continue
    if (e.mask === 0 || e.mask & bit) return e.decision
  }
  return undefined
}

const hasWildcard = (s: string): boolean => s.includes('+') || s.includes('#')

/**
 * Whether Mosquitto 2.0 with this acl_file would let `user` (null: anonymous) connected as
 * `clientId` read (receive) or write (publish) `topic`.
 */
export function aclDecision(acl: AclFile, user: string | null, clientId: string, topic: string, want: Want): Readonly<AclDecision> {
  // Broker-wide rules Mosquitto applies before any acl_file (security.c, acl__check_dollar).
  if (topic.startsWith('$SYS')) {
    if (want === 'write' && !topicMatches('$SYS/broker/connection/+/state', topic)) {
      return { allowed: false, reason: 'clients may not publish to $SYS' }
    }
  } else if (topic.startsWith('$share')) {
    return { allowed: false, reason: '$share is only for subscribing' }
  }

  const c = compileAclFile(acl)
  const bit = want === 'read' ? READ : WRITE
  const own = user === null ? c.anonymous : c.users.get(user)
  if (own) {
    const d = scan(own, topic, bit)
    if (d) return d
  }
  if (c.patterns.length === 0) return NO_RULE
  if (user !== null && hasWildcard(user)) return { allowed: false, reason: `username '${user}' contains '+' or '#'` }
  if (hasWildcard(clientId)) return { allowed: false, reason: `client id '${clientId}' contains '+' or '#'` }
  return scan(patternsFor(c, user, clientId), topic, bit) ?? NO_RULE
}

/**
 * Every line that would grant `want` on `topic` to this client, ignoring denies and order: the user's
 * own lines, then the patterns. Not a decision (use aclDecision); it tells what else grants a topic
 * the decision already allowed, e.g. whether some grant is less restricted than the one that decided.
 */
export function grantsFor(acl: AclFile, user: string | null, clientId: string, topic: string, want: Want): AclRule[] {
  const c = compileAclFile(acl)
  const bit = want === 'read' ? READ : WRITE
  const out: AclRule[] = []
  const own = user === null ? c.anonymous : c.users.get(user)
  for (const e of own ?? []) if (e.mask & bit && topicMatches(e.topic, topic)) out.push(e.decision.rule!)
  if (!(user !== null && hasWildcard(user)) && !hasWildcard(clientId)) {
    for (const e of c.patterns.length ? patternsFor(c, user, clientId) : []) if (e.mask & bit && topicMatches(e.topic, topic)) out.push(e.decision.rule!)
  }
  return out
}
