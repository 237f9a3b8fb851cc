import { formatAclFile } from './acl-file.js'
import type { CompiledRule, CompiledTable } from './rules-compile.js'
import { at, describeCommand, describeShare } from './rules-text.js'
import { isoMinute } from './rules-values.js'
import type { AclRule } from './types.js'

/*
 * `acl show`: the compiled rules as a Mosquitto acl_file. Loaded into Mosquitto (`acl_file`), it makes
 * the same read and write decisions as the hub; a comment marks each rule Mosquitto cannot carry out
 * in full (precision, history limits, time boxes), and says what the hub does there instead.
 */

export interface ShowOptions {
  /** Every user to print a block for (password file, people, acl files). */
  users: string[]
  isAdmin(user: string): boolean
  /** Only this user's block (patterns apply to them too, so those are printed as well). */
  only?: string
  source: string
  now: number
}

const line = (kw: 'topic' | 'pattern', r: AclRule) =>
  formatAclFile(kw === 'topic' ? { anonymous: [r], users: new Map(), patterns: [] } : { anonymous: [], users: new Map(), patterns: [r] }).trimEnd()

function origin(r: CompiledRule): string {
  if (r.builtin) return `# built in: ${r.builtin}`
  if (r.command) return `# ${describeCommand(r.command)}`
  if (!r.share) return `# ${at(r.source)}`
  const s = r.share
  const only: string[] = []
  if (s.precision?.kind === 'place') only.push('shows only which of their places (acl/places.yml) a device is in, never coordinates')
  else if (s.precision) only.push(`blurs positions to ${s.precision.text} and removes SSID, BSSID, inregions, inrids, addr, poi`)
  if (s.history !== true) only.push(s.history === false ? 'serves no history' : 'serves only recent history')
  if (s.until !== null) only.push(`ends the share at ${isoMinute(s.until)}`)
  const note = only.length ? `\n#   Mosquitto would deliver these unchanged; the hub ${only.join(', ')}.` : ''
  return `# ${describeShare(s)}${note}`
}

/** Lines with a comment before each run of lines that come from the same rule. */
function block(kw: 'topic' | 'pattern', rules: AclRule[]): string[] {
  const out: string[] = []
  let last: unknown
  for (const r of rules as CompiledRule[]) {
    const from = r.share ?? r.command ?? r.builtin ?? `${r.source.file}:${r.source.line}`
    if (from !== last) out.push(origin(r))
    last = from
    out.push(line(kw, r))
  }
  return out
}

export function showAcl(t: CompiledTable, o: ShowOptions): string {
  const out: string[] = [
    `# owntracks-hub access rules as a Mosquitto acl_file, compiled from ${o.source} at ${isoMinute(o.now)}.`,
    '# Mosquitto makes the same read/write decisions with it; comments mark what only the hub does.',
  ]
  if (!o.only && t.acl.anonymous.length) out.push('', '# clients without a username', ...block('topic', t.acl.anonymous))
  out.push('', ...block('pattern', t.acl.patterns))
  const users = o.only ? [o.only] : o.users
  for (const u of users) {
    const adminWhere = t.admins.get(u)
    if (o.isAdmin(u) || adminWhere) {
      out.push('', `user ${u}`, `# admin (${adminWhere ? at(adminWhere) : '<data>/admins'}): reads everything, writes everything but $SYS; other lines for ${u} do not matter`)
      out.push('topic readwrite #', 'topic read $SYS/#')
      continue
    }
    const rules = t.acl.users.get(u) ?? []
    const ended = t.ended.filter((s) => s.to.includes(u))
    if (rules.length === 0 && ended.length === 0 && !o.only) continue
    out.push('', `user ${u}`, ...block('topic', rules))
    for (const s of ended) out.push(`# ended, no longer granted: ${describeShare(s)}`)
  }
  return out.join('\n') + '\n'
}
