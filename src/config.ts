import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'

/**
 * Every setting has one row here: its flag, its environment twin, its config-file key and its default.
 * Precedence is flags > environment > config file > defaults, resolved once in `loadConfig`;
 * no other module reads process.env.
 */
type Kind = 'string' | 'port' | 'int' | 'bool' | 'level' | 'format'

interface OptionSpec {
  kind: Kind
  default: string | number | boolean | undefined
  help: string
  /** Shown in --help of these commands; 'all' for options every command takes. */
  scope: 'all' | 'serve'
}

export const OPTIONS = {
  data: { kind: 'string', default: './data', scope: 'all', help: 'data directory (history, broker state, passwd)' },
  aclDir: { kind: 'string', default: './acl', scope: 'all', help: 'directory of sharing rules and Mosquitto *.acl files' },
  config: { kind: 'string', default: undefined, scope: 'all', help: 'config file (YAML or JSON) with any of these keys' },
  passwordFile: { kind: 'string', default: undefined, scope: 'all', help: 'Mosquitto password file (default <data>/passwd)' },
  host: { kind: 'string', default: '0.0.0.0', scope: 'serve', help: 'address to listen on' },
  mqttPort: { kind: 'port', default: 1883, scope: 'serve', help: 'MQTT port (0 picks a free one)' },
  httpPort: { kind: 'port', default: 8083, scope: 'serve', help: 'HTTP port: Recorder API, map, /mqtt WebSocket' },
  mqttsPort: { kind: 'port', default: 8883, scope: 'serve', help: 'MQTT over TLS port, used once certificates exist' },
  allowAnonymous: { kind: 'bool', default: false, scope: 'serve', help: 'admit clients without credentials (rights from the anonymous part of acl/*.acl)' },
  topicBase: { kind: 'string', default: 'owntracks', scope: 'serve', help: "the apps' topic prefix (pubTopicBase without /%u/%d)" },
  logLevel: { kind: 'level', default: 'info', scope: 'all', help: 'error, warn, info, debug (debug logs every packet, never payloads)' },
  logFormat: { kind: 'format', default: 'text', scope: 'all', help: "'text' (Mosquitto-style lines) or 'json' (one JSON object per line)" },
  drainTimeout: { kind: 'int', default: 30000, scope: 'serve', help: 'ms a subscriber may keep its socket full before it is disconnected' },
  fsync: { kind: 'bool', default: false, scope: 'serve', help: 'fsync each history batch (survives power loss, not only crashes)' },
  tileUrl: { kind: 'string', default: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', scope: 'serve', help: 'map tiles: a URL template with {z}, {x}, {y} (and {s} for subdomains a, b, c)' },
  tileAttribution: { kind: 'string', default: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors', scope: 'serve', help: "the tiles' attribution shown on the map (HTML)" },
  publicUrl: { kind: 'string', default: undefined, scope: 'serve', help: "the hub's web address as phones and visitors reach it, for tour links (default http://<host>:<http port>)" },
} as const satisfies Record<string, OptionSpec>

export type OptionKey = keyof typeof OPTIONS

export interface Config {
  data: string
  aclDir: string
  config: string | undefined
  passwordFile: string
  host: string
  mqttPort: number
  httpPort: number
  mqttsPort: number
  allowAnonymous: boolean
  topicBase: string
  logLevel: 'error' | 'warn' | 'info' | 'debug'
  logFormat: 'text' | 'json'
  drainTimeout: number
  fsync: boolean
  tileUrl: string
  tileAttribution: string
  publicUrl: string | undefined
}

/** A user-facing configuration mistake; the message says where and what to do. */
export class ConfigError extends Error {}

export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())
export const envName = (key: string): string => 'OTHUB_' + flagName(key).replace(/-/g, '_').toUpperCase()

function coerce(key: OptionKey, raw: unknown, where: string): unknown {
  const spec: OptionSpec = OPTIONS[key]
  const bad = (expected: string) =>
    new ConfigError(`${where}: ${key} must be ${expected}, got ${JSON.stringify(raw)}`)
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw bad('a non-empty string')
      return raw
    case 'bool':
      if (typeof raw === 'boolean') return raw
      if (raw === 'true' || raw === '1' || raw === 'yes') return true
      if (raw === 'false' || raw === '0' || raw === 'no') return false
      throw bad('true or false')
    case 'port':
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN
      if (!Number.isInteger(n) || n < 0 || (spec.kind === 'port' && n > 65535)) {
        throw bad(spec.kind === 'port' ? 'a port number from 0 to 65535' : 'a whole number ≥ 0')
      }
      return n
    }
    case 'level':
      if (raw === 'error' || raw === 'warn' || raw === 'info' || raw === 'debug') return raw
      throw bad('one of error, warn, info, debug')
    case 'format':
      if (raw === 'text' || raw === 'json') return raw
      throw bad("'text' or 'json'")
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`config file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`)
  }
  let parsed: unknown
  try {
    parsed = parseYaml(text)
  } catch (err) {
    throw new ConfigError(`config file ${path}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`)
  }
  if (parsed == null) return {}
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a mapping of keys to values`)
  }
  return parsed as Record<string, unknown>
}

/**
 * Resolves the configuration. `flags` holds parsed command-line values keyed by option key.
 * Unknown keys in the config file are an error naming the key, so a typo never silently falls back.
 */
export function loadConfig(flags: Partial<Record<OptionKey, unknown>>, env: NodeJS.ProcessEnv): Config {
  const configPath = (flags.config ?? env[envName('config')]) as string | undefined
  const file = configPath ? readConfigFile(configPath) : {}
  for (const key of Object.keys(file)) {
    if (!(key in OPTIONS) || key === 'config') {
      throw new ConfigError(`config file ${configPath}: unknown key '${key}' (known: ${Object.keys(OPTIONS).filter((k) => k !== 'config').join(', ')})`)
    }
  }
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const fromEnv = env[envName(key)]
    if (flags[key] !== undefined) out[key] = coerce(key, flags[key], `--${flagName(key)}`)
    else if (fromEnv !== undefined && fromEnv !== '') out[key] = coerce(key, fromEnv, envName(key))
    else if (file[key] !== undefined) out[key] = coerce(key, file[key], `config file ${configPath}`)
    else out[key] = OPTIONS[key].default
  }
  out.data = resolve(out.data as string)
  out.aclDir = resolve(out.aclDir as string)
  out.passwordFile = out.passwordFile ? resolve(out.passwordFile as string) : resolve(out.data as string, 'passwd')
  checkUrls(out as unknown as Config)
  return out as unknown as Config
}

/** The map and tour links are built from these, so a mistake here would only show up in a browser: refuse it now. */
function checkUrls(c: Config): void {
  const t = c.tileUrl
  if (!/^(https?:\/\/[^/]|\/)/.test(t) || !['{z}', '{x}', '{y}'].every((p) => t.includes(p))) {
    throw new ConfigError(`tileUrl must be an http(s) URL or a path with {z}, {x} and {y}, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; got ${JSON.stringify(t)}`)
  }
  if (c.publicUrl !== undefined) {
    let u: URL | undefined
    try { u = new URL(c.publicUrl) } catch { /* reported below */ }
    if (!u || !/^https?:$/.test(u.protocol) || u.search || u.hash) {
      throw new ConfigError(`publicUrl must be an http(s) address such as https://hub.example.net or https://example.net/owntracks; got ${JSON.stringify(c.publicUrl)}`)
    }
    c.publicUrl = c.publicUrl.replace(/\/+$/, '')
  }
}
