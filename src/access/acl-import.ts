import type { ShareEntry } from './rules-edit.js'
import { filtersOverlap } from './topic-match.js'
import { PARTS, type AclFile, type AclRule, type Part } from './types.js'

/*
 * `acl import`: a Mosquitto acl_file → sharing rules, without changing a single decision.
 *   - `topic read <base>/<other>/<device|+>[/event|/info]` in a user's block is a share of that part;
 *     a share compiles back to exactly such lines (rules-compile.ts), so Mosquitto's answer stays;
 *   - a grant inside the user's own `<base>/<user>/…` is what the hub grants everyone anyway, so it
 *     goes, unless a `pattern deny` touches it (in Mosquitto a user's own line beats a pattern deny);
 *   - everything else (deny lines, writes to others, other topics, patterns, anonymous lines) is not a
 *     sharing rule and stays Mosquitto syntax, in an .acl file the hub reads as is.
 */

export interface Imported {
  people: string[]
  shares: ShareEntry[]
  /** Lines that stay Mosquitto syntax. */
  kept: AclFile
  /** Lines left out because the built-in own-topics rule grants the same. */
  dropped: AclRule[]
}

const PART_OF: Record<string, Part> = { '': 'location', '/event': 'events', '/info': 'card' }

export function importAcl(acl: AclFile, base: string): Imported {
  const prefix = base === '' ? '' : base + '/'
  const kept: AclFile = { anonymous: [...acl.anonymous], users: new Map(), patterns: [...acl.patterns] }
  const dropped: AclRule[] = []
  const people = new Set<string>()
  // (receiver, owner, part) → devices, '+' for all
  const grants = new Map<string, { to: string; from: string; part: Part; devices: Set<string> }>()
  const denyPatterns = acl.patterns.filter((p) => p.access === 'deny')

  for (const [user, rules] of acl.users) {
    people.add(user)
    const keep: AclRule[] = []
    for (const r of rules) {
      if (r.access === 'deny') { keep.push(r); continue }
      if ((r.topic === prefix + user || r.topic.startsWith(prefix + user + '/')) && !touchedByDeny(r.topic, user, denyPatterns)) {
        dropped.push(r)
        continue
      }
      const share = r.access === 'read' ? shareLine(r.topic, prefix) : null
      if (!share || share.from === user) { keep.push(r); continue }
      people.add(share.from)
      const k = `${user}\x00${share.from}\x00${share.part}`
      const g = grants.get(k) ?? { to: user, from: share.from, part: share.part, devices: new Set<string>() }
      g.devices.add(share.device)
      grants.set(k, g)
    }
    if (keep.length) kept.users.set(user, keep)
  }

  // One entry per owner, device set and parts; receivers with the same grant share the entry.
  const entries = new Map<string, ShareEntry & { parts: Set<Part>; receivers: Set<string> }>()
  const byPair = new Map<string, Map<string, Set<Part>>>()
  for (const g of grants.values()) {
    const devs = g.devices.has('+') ? '+' : [...g.devices].sort().join(',')
    const pair = `${g.to}\x00${g.from}`
    const m = byPair.get(pair) ?? new Map<string, Set<Part>>()
    m.set(devs, (m.get(devs) ?? new Set()).add(g.part))
    byPair.set(pair, m)
  }
  for (const [pair, m] of byPair) {
    const [to, from] = pair.split('\x00')
    for (const [devs, parts] of m) {
      const include = PARTS.filter((p) => parts.has(p))
      const k = `${from}\x00${devs}\x00${include.join(',')}`
      const e = entries.get(k) ?? {
        from, to: [], parts, receivers: new Set<string>(),
        ...(devs === '+' ? {} : { devices: devs.split(',') }),
        ...(include.length === PARTS.length ? {} : { include }),
      }
      e.receivers.add(to)
      entries.set(k, e)
    }
  }
  const shares = [...entries.values()].map(({ parts: _p, receivers, ...e }) => ({ ...e, to: [...receivers].sort() }))
  return { people: [...people].sort(), shares, kept, dropped }
}

/** `<base>/<owner>/<device|+>` plus '', '/event' or '/info' → the share part it grants; else null. */
function shareLine(topic: string, prefix: string): { from: string; device: string; part: Part } | null {
  if (!topic.startsWith(prefix)) return null
  const levels = topic.slice(prefix.length).split('/')
  if (levels.length < 2 || levels.length > 3) return null
  const [from, device, sub] = levels
  if (!from || /[+#]/.test(from) || !device || device === '#' || (device !== '+' && /[+#]/.test(device))) return null
  const part = PART_OF[sub === undefined ? '' : '/' + sub]
  return part ? { from, device, part } : null
}

function touchedByDeny(topic: string, user: string, denies: AclRule[]): boolean {
  return denies.some((p) => p.topic.includes('%c') || filtersOverlap(topic, p.topic.split('%u').join(user)))
}
