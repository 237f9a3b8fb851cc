import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'

/** --geocoder: which kind of geocoder, at which address (geo/geocoder.ts asks it). */
export interface GeocoderSpec { kind: 'nominatim' | 'photon'; url: string }

/** Parses `nominatim:URL` / `photon:URL`, or says what is wrong. */
export function parseGeocoder(value: string): GeocoderSpec {
  const m = /^(nominatim|photon):(https?:\/\/.+)$/.exec(value)
  if (!m) throw new Error(`geocoder must be nominatim:URL or photon:URL (e.g. nominatim:http://127.0.0.1:8080), got ${JSON.stringify(value)}`)
  return { kind: m[1] as GeocoderSpec['kind'], url: m[2].replace(/\/+$/, '') }
}

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
  docroot: { kind: 'string', default: undefined, scope: 'serve', help: "serve this directory's web app at / instead of the built-in map (e.g. a built OwnTracks Frontend), behind the same login" },
  docrootCsp: { kind: 'string', default: undefined, scope: 'serve', help: 'Content-Security-Policy sent with the --docroot app\'s files (default: none, as a plain web server; the hub\'s own pages keep theirs)' },
  corsOrigin: { kind: 'string', default: undefined, scope: 'serve', help: 'comma-separated origins (https://frontend.example.org) of web apps on other sites allowed to call /api/* and /ws/last with credentials (default: none)' },
  retentionDays: { kind: 'int', default: 0, scope: 'serve', help: 'delete history older than this many days, checked hourly (0 keeps everything)' },
  // TLS, HTTPS, bridges (README.md, "TLS and the CA for phones")
  httpsPort: { kind: 'port', default: 8443, scope: 'serve', help: 'HTTPS port (API, map, /pub, wss /mqtt), used once certificates exist' },
  tlsCert: { kind: 'string', default: undefined, scope: 'serve', help: "server certificate (PEM, chain allowed) instead of <data>/tls/server.crt, e.g. Let's Encrypt's fullchain.pem; re-read when it changes" },
  tlsKey: { kind: 'string', default: undefined, scope: 'serve', help: 'private key of --tls-cert (PEM)' },
  tlsCa: { kind: 'string', default: undefined, scope: 'serve', help: 'CA that signs client certificates and is served at /ca.crt (default <data>/tls/ca.crt)' },
  tlsRequireCert: { kind: 'bool', default: false, scope: 'serve', help: 'MQTT over TLS only for clients with a certificate signed by the CA (Mosquitto require_certificate)' },
  tlsCertUsername: { kind: 'bool', default: false, scope: 'serve', help: "on the TLS port, a client certificate's CN is the user name, no password needed (Mosquitto use_identity_as_username)" },
  httpsRedirect: { kind: 'bool', default: false, scope: 'serve', help: 'answer plain HTTP with a redirect to HTTPS (except /ca.crt and /healthz) while HTTPS runs' },
  trustProxy: { kind: 'string', default: undefined, scope: 'serve', help: 'comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto/-Host headers are believed' },
  bridgeFile: { kind: 'string', default: undefined, scope: 'serve', help: "Mosquitto-style bridge connections (default <data>/bridges.conf; none if it is missing)" },
  // Operations: limits, $SYS, metrics, stopping (README.md, "Running it for years")
  maxConnections: { kind: 'int', default: 10000, scope: 'serve', help: 'MQTT connections held at once; more are closed at once and logged (0 = no limit)' },
  maxPayload: { kind: 'int', default: 2097152, scope: 'serve', help: 'largest PUBLISH payload in bytes; a bigger one is acknowledged and dropped, as Mosquitto\'s message_size_limit (0 = no limit)' },
  publishRate: { kind: 'int', default: 500, scope: 'serve', help: 'publishes per second one client may send; faster ones are slowed down, not dropped (0 = no limit)' },
  maxQueuedBytes: { kind: 'int', default: 2097152, scope: 'serve', help: 'bytes waiting to be sent to one subscriber before it is disconnected as too slow (its persistent session keeps the rest; 0 = no limit)' },
  // Security: what an unauthenticated peer or a hostile user can make the hub hold (README.md, "Security")
  authRateAccount: { kind: 'int', default: 30, scope: 'serve', help: 'password checks a minute for one user name, after a burst of 10 (MQTT and HTTP together; more are refused unchecked; 0 = no limit)' },
  authRateAddress: { kind: 'int', default: 60, scope: 'serve', help: 'password checks a minute from one address, after a burst of 20 (0 = no limit)' },
  connectTimeout: { kind: 'int', default: 10000, scope: 'serve', help: 'ms a new MQTT connection has to send its whole CONNECT packet; slower ones are closed' },
  maxConnectBytes: { kind: 'int', default: 65536, scope: 'serve', help: 'largest CONNECT packet (client id, credentials, will); a bigger one closes the connection before it is read' },
  maxPending: { kind: 'int', default: 1000, scope: 'serve', help: 'MQTT connections not logged in yet, from all addresses together; the rest of max-connections stays for clients that log in (0 = no limit)' },
  maxPendingPerAddress: { kind: 'int', default: 256, scope: 'serve', help: 'MQTT connections not logged in yet from one address; more are closed at once (0 = no limit)' },
  maxHttpPerAddress: { kind: 'int', default: 256, scope: 'serve', help: 'open HTTP connections (WebSockets included) from one address; more are closed at once (0 = no limit)' },
  maxBody: { kind: 'int', default: 4194304, scope: 'serve', help: 'largest HTTP request body in bytes (413 beyond); sign-in takes at most 16 kB' },
  maxSessionsPerUser: { kind: 'int', default: 100, scope: 'serve', help: "map sessions one user may have; signing in once more ends that user's least recently used one" },
  maxDevicesPerUser: { kind: 'int', default: 1000, scope: 'serve', help: "devices one user may have in the history; a publish from one more device is acknowledged, not stored or delivered, and logged (0 = no limit)" },
  sysInterval: { kind: 'int', default: 10, scope: 'serve', help: 'seconds between $SYS/broker/... updates, which only admins receive (0 = off)' },
  metricsPublic: { kind: 'bool', default: false, scope: 'serve', help: 'serve /metrics without authentication (otherwise it needs an admin, HTTP Basic)' },
  stopTimeout: { kind: 'int', default: 10000, scope: 'serve', help: 'ms a graceful stop waits for open HTTP requests before closing them (history writes always finish)' },
  tileUrl: { kind: 'string', default: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', scope: 'serve', help: 'map tiles: a URL template with {z}, {x}, {y} (and {s} for subdomains a, b, c)' },
  tileAttribution: { kind: 'string', default: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors', scope: 'serve', help: "the tiles' attribution shown on the map (HTML)" },
  publicUrl: { kind: 'string', default: undefined, scope: 'serve', help: "the hub's web address as phones and visitors reach it, for tour links (default http://<host>:<http port>)" },
  // Place names (README.md, "Where and when")
  geocoder: { kind: 'string', default: undefined, scope: 'serve', help: 'street addresses from a geocoder you run or choose: nominatim:URL or photon:URL (none by default: country, time zone and town are found offline)' },
  geocoderRate: { kind: 'int', default: 1, scope: 'serve', help: 'requests per second to --geocoder, at most' },
  // A cluster of nodes behind one address (README.md, "When one machine is not enough")
  redis: { kind: 'string', default: undefined, scope: 'serve', help: 'Redis URL (redis://host:6379): with --postgres, makes this process a node of a cluster sharing sessions, retained messages and deliveries' },
  postgres: { kind: 'string', default: undefined, scope: 'serve', help: 'PostgreSQL URL (postgres://user:pass@host/db): with --redis, the history of every node of a cluster' },
  // Places and alerts (acl/places.yml; README.md, "Places and alerts")
  pushHttp: { kind: 'bool', default: false, scope: 'serve', help: 'accept Web Push subscriptions whose push service is plain http (only for a test push service on this machine)' },
  homeassistantUser: { kind: 'string', default: undefined, scope: 'serve', help: "publish Home Assistant MQTT discovery (homeassistant/device_tracker/…) for the people this user may see, e.g. homeassistant" },
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
  docroot: string | undefined
  docrootCsp: string | undefined
  corsOrigin: string | undefined
  retentionDays: number
  httpsPort: number
  tlsCert: string | undefined
  tlsKey: string | undefined
  tlsCa: string | undefined
  tlsRequireCert: boolean
  tlsCertUsername: boolean
  httpsRedirect: boolean
  trustProxy: string | undefined
  bridgeFile: string
  maxConnections: number
  maxPayload: number
  publishRate: number
  maxQueuedBytes: number
  authRateAccount: number
  authRateAddress: number
  connectTimeout: number
  maxConnectBytes: number
  maxPending: number
  maxPendingPerAddress: number
  maxHttpPerAddress: number
  maxBody: number
  maxSessionsPerUser: number
  maxDevicesPerUser: number
  sysInterval: number
  metricsPublic: boolean
  stopTimeout: number
  tileUrl: string
  tileAttribution: string
  publicUrl: string | undefined
  geocoder: string | undefined
  geocoderRate: number
  redis: string | undefined
  postgres: string | undefined
  pushHttp: boolean
  homeassistantUser: string | undefined
  /**
   * For tests only (OTHUB_TEST_CLOCK, never set by default and no flag or config key): the alerts' clock
   * starts at this instant and runs `rate` times as fast, so "not arrived by 08:30" can be tried at any hour.
   */
  testClock?: TestClock
}

export interface TestClock { start: number; rate: number }

/** OTHUB_TEST_CLOCK: `2026-12-07T08:28:30+01:00` (a time with its zone), optionally followed by ` x30`. */
export function parseTestClock(raw: string): TestClock {
  const m = /^(\S+)(?:\s+x(\d+(?:\.\d+)?))?$/.exec(raw.trim())
  const start = m && /(Z|[+-]\d\d:\d\d)$/.test(m[1]) ? Date.parse(m[1]) : NaN
  const rate = m?.[2] ? Number(m[2]) : 1
  if (!Number.isFinite(start) || !(rate >= 1 && rate <= 3600)) {
    throw new ConfigError(`OTHUB_TEST_CLOCK must be a time with its zone and an optional speed, e.g. '2026-12-07T08:28:30+01:00 x30'; got ${JSON.stringify(raw)}`)
  }
  return { start, rate }
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
  if (out.docroot) out.docroot = resolve(out.docroot as string)
  out.bridgeFile = out.bridgeFile ? resolve(out.bridgeFile as string) : resolve(out.data as string, 'bridges.conf')
  for (const k of ['tlsCert', 'tlsKey', 'tlsCa'] as const) if (out[k]) out[k] = resolve(out[k] as string)
  if ((out.tlsCert === undefined) !== (out.tlsKey === undefined)) {
    throw new ConfigError(`--tls-cert and --tls-key go together: give both (the certificate and its private key) or neither (then <data>/tls from 'npx owntracks-hub tls init' is used)`)
  }
  checkUrls(out as unknown as Config)
  if (out.corsOrigin !== undefined) corsOrigins(out.corsOrigin as string)
  if (out.geocoder !== undefined) {
    try { parseGeocoder(out.geocoder as string) } catch (err) { throw new ConfigError((err as Error).message) }
  }
  if (env.OTHUB_TEST_CLOCK) out.testClock = parseTestClock(env.OTHUB_TEST_CLOCK)
  if ((out.geocoderRate as number) < 1) throw new ConfigError(`geocoderRate must be at least 1 request per second, got ${String(out.geocoderRate)}`)
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

/**
 * The origins of --cors-origin, each `scheme://host[:port]` as a browser sends it in `Origin`. `*` is
 * refused: the hub answers with credentials, and a wildcard would hand every site the user's login.
 */
export function corsOrigins(value: string | undefined): Set<string> {
  const out = new Set<string>()
  for (const raw of (value ?? '').split(/[\s,]+/).filter(Boolean)) {
    if (raw === '*') throw new ConfigError(`corsOrigin: '*' is not allowed, because requests carry the user's credentials; name each origin, e.g. https://frontend.example.org`)
    let u: URL | undefined
    try { u = new URL(raw) } catch { /* reported below */ }
    if (!u || !/^https?:$/.test(u.protocol) || u.origin !== raw.replace(/\/$/, '')) {
      throw new ConfigError(`corsOrigin: ${JSON.stringify(raw)} is not an origin; give scheme, host and port only, e.g. https://frontend.example.org or http://127.0.0.1:8080`)
    }
    out.add(u.origin)
  }
  return out
}
