import { parseArgs, type ParseArgsConfig } from 'node:util'
import { OPTIONS, flagName, envName, type OptionKey } from '../config.js'

/** A usage mistake: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {}

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
    throw new UsageError(`${(err as Error).message.split('\n')[0]}`)
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
  return `Usage: owntracks-hub ${spec.usage}\n\n${spec.summary}\n\nOptions:\n${rows.map(([a, b]) => `  ${a.padEnd(w)}${b}`).join('\n')}\n\nEvery option may also be set in the config file (--config) under its camelCase key; flags win over environment, environment over the file.\n`
}
