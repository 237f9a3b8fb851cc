import { parseArgs, type ParseArgsConfig } from 'node:util'
import { OPTIONS, flagName, envName, type OptionKey } from '../config.js'

/** A usage mistake: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  /** The help command to point at, when it is not the top-level one. */
  help?: string
}

export interface CommandSpec {
  name: string
  usage: string
  summary: string
  /** Config options (from OPTIONS) this command takes besides the ones every command takes. */
  options: OptionKey[]
  /** Command-specific flags. */
  extra?: Record<string, { type: 'string' | 'boolean'; help: string; multiple?: boolean; short?: string }>
}

export interface Parsed {
  flags: Partial<Record<OptionKey, unknown>>
  extra: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
  help: boolean
}

const COMMON: OptionKey[] = (Object.keys(OPTIONS) as OptionKey[]).filter((k) => OPTIONS[k].scope === 'all')

export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const keys = [...new Set([...COMMON, ...spec.options])]
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } }
  for (const k of keys) options[flagName(k)] = { type: OPTIONS[k].kind === 'bool' ? 'boolean' : 'string' }
  for (const [name, o] of Object.entries(spec.extra ?? {})) options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }
  let values: Record<string, unknown>
  let positionals: string[]
  try {
    ({ values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true }))
  } catch (err) {
    const e = new UsageError(explainParseError(err as Error & { code?: string }, Object.keys(options), spec.name))
    e.help = `npx owntracks-hub ${spec.name} --help`
    throw e
  }
  const flags: Partial<Record<OptionKey, unknown>> = {}
  for (const k of keys) if (values[flagName(k)] !== undefined) flags[k] = values[flagName(k)]
  const extra: Parsed['extra'] = {}
  for (const name of Object.keys(spec.extra ?? {})) extra[name] = values[name] as Parsed['extra'][string]
  return { flags, extra, positionals, help: values.help === true }
}

export function helpText(spec: CommandSpec): string {
  const keys = [...new Set([...spec.options, ...COMMON])]
  const rows: [string, string][] = []
  for (const [name, o] of Object.entries(spec.extra ?? {})) rows.push([`${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' VALUE' : ''}`, o.help])
  for (const k of keys) {
    const o = OPTIONS[k]
    const def = o.default === undefined ? '' : ` (default ${o.default}; env ${envName(k)})`
    rows.push([`--${flagName(k)}${o.kind === 'bool' ? '' : ' VALUE'}`, `${o.help}${def || ` (env ${envName(k)})`}`])
  }
  rows.push(['-h, --help', 'show this help'])
  const w = Math.max(...rows.map((r) => r[0].length)) + 2
  return `Usage: npx owntracks-hub ${spec.usage}\n\n${spec.summary}\n\nOptions:\n${rows.map(([a, b]) => `  ${a.padEnd(w)}${b}`).join('\n')}\n\nEvery option may also be set in the config file (--config) under its camelCase key; flags win over environment, environment over the file.\n`
}

/** A group's help (`user --help`): each sub-command's usage and what it does. */
export function groupHelp(group: string, specs: CommandSpec[]): string {
  const rows = specs.map((s) => `  npx owntracks-hub ${s.usage}\n      ${s.summary}`)
  return `Commands of 'owntracks-hub ${group}':\n\n${rows.join('\n\n')}\n\nRun 'npx owntracks-hub ${group} SUBCOMMAND --help' for its options.\n`
}

/**
 * Node's parseArgs says "Unknown option '--dat'. To specify a positional argument starting with a
 * '-', place it at the end…": say instead what is wrong in this command, and the nearest option.
 */
function explainParseError(err: Error & { code?: string }, known: string[], command: string): string {
  const opt = /'(-[^' ]+)/.exec(err.message)?.[1]
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt) {
    const name = opt.replace(/^-+/, '').split('=')[0]
    const near = known.map((k) => ({ k, d: distance(name, k) })).sort((a, b) => a.d - b.d)[0]
    const hint = near && near.d <= Math.max(2, Math.floor(name.length / 3)) ? `; did you mean --${near.k}?` : ''
    return `'${command}' has no option ${opt}${hint}`
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt) {
    return /argument missing/.test(err.message) ? `option ${opt} needs a value, e.g. ${opt} VALUE` : `option ${opt} takes no value`
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `'${command}' takes no such argument: ${err.message.split('\n')[0]}`
  return err.message.split('\n')[0]
}

/** Edit distance (Levenshtein), for suggesting the option meant. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]
}
