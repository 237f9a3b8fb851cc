import type { AclFile, AclRule, CommandGrant, Part, Share, SharingRules, Where } from './types.js'

/*
 * Rules → one Mosquitto acl_file, so that one evaluation (acl-eval.ts, Mosquitto-exact) answers every
 * question and `acl show` can print what is really enforced:
 *   - built in: `pattern readwrite <base>/%u/#` (everyone reads and writes their own topics);
 *   - every `acl/*.acl` line as written;
 *   - each active share: `topic read <base>/<from>/<device|+>[/event|/info]` in each receiver's block;
 *   - each command permission: `topic write <base>/<to>/<device|+>/cmd` in each sender's block.
 * A line from a share remembers its share, which tells how the receiver sees the message (precision)
 * and how far back they may read. Shares whose time box has ended are left out; `nextChange` says when
 * the next one ends, so the owner recompiles then without any file change.
 */

export interface CompiledRule extends AclRule {
  share?: Share
  command?: CommandGrant
  /** Why a line exists that nobody wrote. */
  builtin?: string
}

export interface CompiledTable {
  acl: AclFile
  /** Admins named in the rules file (they add to <data>/admins). */
  admins: Map<string, Where>
  rules: SharingRules | null
  active: Share[]
  ended: Share[]
  /** Epoch ms when the next time box ends; Infinity when none will. */
  nextChange: number
}

const SUFFIX: Record<Part, string> = { location: '', events: '/event', card: '/info' }

const prefix = (base: string) => (base === '' ? '' : base + '/')

export function deviceFilter(base: string, user: string, device: string | null, sub = ''): string {
  return `${prefix(base)}${user}/${device ?? '+'}${sub}`
}

export function compileRules(rules: SharingRules | null, files: AclFile, base: string, now: number): CompiledTable {
  const own: CompiledRule = {
    access: 'readwrite', topic: `${prefix(base)}%u/#`, pattern: true,
    source: { file: '(built in)', line: 0 }, builtin: 'everyone reads and writes their own topics',
  }
  const users = new Map<string, AclRule[]>()
  for (const [u, list] of files.users) users.set(u, [...list])
  const add = (user: string, r: CompiledRule) => {
    const list = users.get(user)
    if (list) list.push(r)
    else users.set(user, [r])
  }
  const active: Share[] = []
  const ended: Share[] = []
  let nextChange = Infinity
  for (const s of rules?.shares ?? []) {
    if (s.until !== null && s.until <= now) { ended.push(s); continue }
    if (s.until !== null) nextChange = Math.min(nextChange, s.until)
    active.push(s)
    for (const to of s.to) {
      for (const part of s.include) {
        for (const d of s.devices ?? [null]) {
          add(to, { access: 'read', topic: deviceFilter(base, s.from, d, SUFFIX[part]), pattern: false, source: s.where, share: s })
        }
      }
    }
  }
  for (const c of rules?.commands ?? []) {
    for (const from of c.from) {
      for (const d of c.devices ?? [null]) {
        add(from, { access: 'write', topic: deviceFilter(base, c.to, d, '/cmd'), pattern: false, source: c.where, command: c })
      }
    }
  }
  return {
    acl: { anonymous: files.anonymous, users, patterns: [own, ...files.patterns] },
    admins: rules?.admins ?? new Map(),
    rules,
    active,
    ended,
    nextChange,
  }
}

/** Several acl_files read as one: Mosquitto has one file, and a user's lines add up across blocks. */
export function mergeAclFiles(files: AclFile[]): AclFile {
  const merged: AclFile = { anonymous: [], users: new Map(), patterns: [] }
  for (const acl of files) {
    merged.anonymous.push(...acl.anonymous)
    merged.patterns.push(...acl.patterns)
    for (const [u, rules] of acl.users) merged.users.set(u, [...(merged.users.get(u) ?? []), ...rules])
  }
  return merged
}
