import type { CompiledRule } from './rules-compile.js'
import { formatDuration, isoMinute } from './rules-values.js'
import type { CommandGrant, Share, Where } from './types.js'

/* Rules in words, for `acl check`, `acl show` comments and the log: the same phrase everywhere. */

export const at = (w: Where): string => `${w.file} line ${w.line}`

/** "precision 1km, history 7d, until 2026-12-01T18:00Z" — what limits a share; '' when nothing does. */
export function shareLimits(s: Share): string {
  const out: string[] = []
  if (s.precision) out.push(`precision ${s.precision.text}`)
  if (s.history !== true) out.push(s.history === false ? 'live only (no history)' : `history ${formatDuration(s.history)}`)
  if (s.until !== null) out.push(`until ${isoMinute(s.until)}`)
  return out.join(', ')
}

export function describeShare(s: Share): string {
  const what = s.devices ? `${s.from}'s ${s.devices.join(', ')}` : `${s.from}'s devices`
  const head = s.group ? `group ${s.group}: ${what} to ${s.to.join(', ')}` : `${what} shared with ${s.to.join(', ')}`
  const limits = shareLimits(s)
  return `${head} (${at(s.where)}${limits ? '; ' + limits : ''})`
}

export function describeCommand(c: CommandGrant): string {
  const whose = c.devices ? `${c.to}'s ${c.devices.join(', ')}` : `${c.to}'s devices`
  return `${c.from.join(', ')} may send commands to ${whose} (${at(c.where)})`
}

export function describeRule(r: CompiledRule): string {
  if (r.share) return describeShare(r.share)
  if (r.command) return describeCommand(r.command)
  return `${at(r.source)}: ${r.pattern ? 'pattern' : 'topic'} ${r.access} ${r.topic}`
}
