import { readdirSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { ConfigError, type OptionKey } from '../config.js'

/**
 * Reads a mosquitto.conf (mosquitto.conf(5), Mosquitto 2.0) and says what each setting becomes in
 * the hub: a config key, a file to put somewhere, or why it has no equivalent. One line per setting,
 * so an operator moving from Mosquitto sees everything that was in their file.
 */
export interface ImportResult {
  /** Hub config keys, ready to be written as YAML. */
  config: Partial<Record<OptionKey, string | number | boolean>>
  /** Bridge sections (`connection` … up to the next non-bridge setting), in Mosquitto syntax. */
  bridges: string[]
  /** Mosquitto acl_files to copy into the hub's rules directory. */
  aclFiles: string[]
  /** One line per setting: `file:line: setting → what the hub does`. */
  report: string[]
}

/** Settings that belong to a bridge section (mosquitto.conf(5), "Configuring Bridges"). */
const BRIDGE = /^(address|addresses|bridge_\w+|cleansession|keepalive_interval|local_\w+|notification_topic|notifications|notifications_local_only|remote_\w+|restart_timeout|round_robin|start_type|threshold|idle_timeout|topic|try_private)$/

/** What the hub does instead of these, in the words the report prints. */
const INSTEAD: Record<string, string> = {
  persistence: 'the hub always keeps retained messages, persistent sessions, queued messages and wills in <data>/broker (LevelDB), written as they change',
  persistence_location: 'the hub keeps its state in --data (<data>/broker, <data>/history); Mosquitto\'s mosquitto.db is not read',
  persistence_file: 'the hub keeps its state in --data (<data>/broker)',
  autosave_interval: 'the hub writes its state as it changes, not at intervals',
  autosave_on_changes: 'the hub writes its state as it changes',
  persistent_client_expiration: 'persistent sessions are kept until the client cleans them',
  log_dest: 'the hub logs to standard output (the journal under systemd, docker logs in Docker); --log-format json for log shippers',
  log_type: 'the hub logs connections, refusals and errors; --log-level debug adds every packet, as log_type all',
  log_timestamp: 'the hub\'s log lines always start with an ISO time',
  log_timestamp_format: 'the hub\'s log lines always start with an ISO time',
  connection_messages: 'the hub always logs connections and disconnections',
  pid_file: 'systemd, Docker or your supervisor tracks the process',
  user: 'run the hub as the user you want (systemd User=, Docker runs it as node)',
  per_listener_settings: 'the hub has one set of users and rules for every listener',
  max_inflight_messages: 'aedes sends QoS 1/2 messages without a per-client inflight window; --max-queued-bytes limits what waits for a slow client',
  max_queued_messages: '--max-queued-bytes limits what waits for a slow client (by bytes, not messages)',
  max_queued_bytes: 'see --max-queued-bytes',
  max_keepalive: 'the hub accepts the keep-alive the client asks for',
  allow_zero_length_clientid: 'the hub follows MQTT 3.1.1: a zero-length client id with clean session 1 gets an auto-<UUID> id',
  auto_id_prefix: 'server-made client ids are auto-<UUID>',
  set_tcp_nodelay: 'the hub sets TCP_NODELAY',
  retain_available: 'retained messages are always available',
  upgrade_outgoing_qos: 'not available',
  allow_duplicate_messages: 'one copy per message, at the highest QoS of the matching subscriptions (MQTT 3.1.1)',
  check_retain_source: 'retained messages are delivered through the access rules of the receiver',
  psk_file: 'TLS-PSK is not supported: use certificates',
  psk_hint: 'TLS-PSK is not supported: use certificates',
  plugin: 'auth plugins are not loaded: users live in the password file (--password-file), rules in --acl-dir',
  auth_plugin: 'auth plugins are not loaded: users live in the password file (--password-file), rules in --acl-dir',
  password_file_per_listener: 'one password file for every listener',
  websockets_log_level: 'WebSocket connections log like TCP ones',
  http_dir: 'use --docroot DIR to serve a web app',
  ciphers: 'Node\'s default TLS ciphers are used',
  tls_version: 'Node\'s TLS 1.2 and 1.3 are used',
  memory_limit: 'no memory limit of its own: use the service manager\'s (systemd MemoryMax=, docker --memory)',
  max_packet_size: '--max-payload limits PUBLISH payloads (bytes)',
  queue_qos0_messages: 'QoS 0 messages are not queued for offline clients',
}

/** Of INSTEAD: settings whose effect the hub does not reproduce (the rest it covers in its own way). */
const CANNOT = new Set(['per_listener_settings', 'max_inflight_messages', 'max_queued_messages', 'max_keepalive', 'upgrade_outgoing_qos',
  'psk_file', 'psk_hint', 'plugin', 'auth_plugin', 'ciphers', 'tls_version', 'memory_limit', 'queue_qos0_messages', 'http_dir',
  'auto_id_prefix', 'allow_zero_length_clientid', 'allow_duplicate_messages', 'persistent_client_expiration', 'max_packet_size', 'password_file_per_listener'])

interface Line { file: string; line: number; key: string; args: string[]; text: string }

/** Reads a mosquitto.conf and the *.conf files of its include_dir, in Mosquitto's order (alphabetical). */
function readLines(path: string, seen = new Set<string>()): Line[] {
  const abs = resolve(path)
  if (seen.has(abs)) return []
  seen.add(abs)
  let text: string
  try { text = readFileSync(abs, 'utf8') } catch (err) {
    throw new ConfigError(`${abs}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`)
  }
  const out: Line[] = []
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const t = raw.trim()
    if (!t || t.startsWith('#')) continue
    const [key, ...args] = t.split(/\s+/)
    out.push({ file: abs, line: i + 1, key, args, text: t })
    if (key === 'include_dir' && args[0]) {
      const dir = isAbsolute(args[0]) ? args[0] : join(dirname(abs), args[0])
      let names: string[] = []
      try { names = readdirSync(dir).filter((n) => n.endsWith('.conf')).sort() } catch { /* reported by the caller */ }
      for (const n of names) out.push(...readLines(join(dir, n), seen))
    }
  }
  return out
}

export function importMosquittoConf(path: string): ImportResult {
  const r: ImportResult = { config: {}, bridges: [], aclFiles: [], report: [] }
  const lines = readLines(path)
  const at = (l: Line) => `${l.file}:${l.line}: ${l.text}`
  const say = (l: Line, what: string) => r.report.push(`${at(l)} → ${what}`)
  /** The listener the following lines configure: the default one (port, bind_address) until a `listener` line. */
  let listener: { port: number; host?: string; tls: boolean; ws: boolean; line: Line } | undefined
  const listeners: NonNullable<typeof listener>[] = []
  let bridge: string[] | undefined
  const int = (l: Line): number => {
    const n = Number(l.args[0])
    if (!Number.isInteger(n)) throw new ConfigError(`${at(l)}: expected a whole number`)
    return n
  }

  for (const l of lines) {
    if (l.key === 'connection') {
      bridge = [l.text]
      r.bridges.push(l.text)
      say(l, `bridge '${l.args[0]}': copied to the bridge file with its settings (the hub reads Mosquitto's bridge syntax)`)
      continue
    }
    if (bridge && BRIDGE.test(l.key)) {
      r.bridges[r.bridges.length - 1] += `\n${l.text}`
      continue
    }
    bridge = undefined
    switch (l.key) {
      case 'listener': {
        const port = int(l)
        listener = { port, host: l.args[1], tls: false, ws: false, line: l }
        listeners.push(listener)
        break
      }
      case 'port':
        listener = { port: int(l), tls: false, ws: false, line: l }
        listeners.push(listener)
        break
      case 'bind_address':
        r.config.host = l.args[0]
        say(l, `host: ${l.args[0]}`)
        break
      case 'protocol':
        if (listener && l.args[0] === 'websockets') listener.ws = true
        if (l.args[0] === 'websockets') say(l, 'MQTT over WebSocket is served on the HTTP port at /mqtt (ws://HOST:8083/mqtt, wss:// on the HTTPS port)')
        else say(l, 'MQTT over TCP')
        break
      case 'certfile': case 'keyfile': case 'cafile': case 'capath': case 'require_certificate': case 'use_identity_as_username': case 'use_subject_as_username': case 'crlfile':
        if (listener) listener.tls = true
        tlsSetting(r, l, say)
        break
      case 'password_file':
        r.config.passwordFile = l.args[0]
        say(l, `passwordFile: ${l.args[0]} (read as it is, $7$ and $6$ lines, and re-read when it changes)`)
        break
      case 'acl_file':
        r.aclFiles.push(l.args[0])
        say(l, `copy it into the rules directory, where it is read as it is: cp ${l.args[0]} <acl-dir>/mosquitto.acl`)
        break
      case 'allow_anonymous': {
        const on = l.args[0] === 'true'
        r.config.allowAnonymous = on
        say(l, `allowAnonymous: ${on}${on ? ' (anonymous clients get the rights of the lines before the first user line of the acl files)' : ''}`)
        break
      }
      case 'message_size_limit': {
        const n = int(l)
        r.config.maxPayload = n
        say(l, `maxPayload: ${n}${n === 0 ? ' (no limit)' : ''}`)
        break
      }
      case 'max_connections': {
        const n = int(l)
        r.config.maxConnections = n < 0 ? 0 : n
        say(l, `maxConnections: ${n < 0 ? '0 (no limit)' : n}`)
        break
      }
      case 'include_dir':
        say(l, 'read: its *.conf files are part of this import')
        break
      case 'sys_interval':
        r.config.sysInterval = int(l)
        say(l, `sysInterval: ${int(l)}`)
        break
      default:
        if (INSTEAD[l.key] !== undefined) say(l, `${CANNOT.has(l.key) ? 'cannot be honoured: ' : 'not needed: '}${INSTEAD[l.key]}`)
        else say(l, 'cannot be honoured: the hub has no such setting')
    }
  }

  // Listeners: the plain MQTT one and the TLS one become ports; WebSocket listeners live on the HTTP port.
  const plain = listeners.filter((x) => !x.tls && !x.ws)
  const tls = listeners.filter((x) => x.tls && !x.ws)
  if (plain[0]) { r.config.mqttPort = plain[0].port; if (plain[0].host) r.config.host = plain[0].host }
  if (tls[0]) r.config.mqttsPort = tls[0].port
  for (const x of listeners) {
    const role = x.ws ? `MQTT over WebSocket: on the HTTP port (httpPort, default 8083) at /mqtt${x.tls ? ', and wss:// on the HTTPS port' : ''}; port ${x.port} is not opened`
      : x === plain[0] ? `mqttPort: ${x.port}${x.host ? `, host: ${x.host}` : ''}`
        : x === tls[0] ? `mqttsPort: ${x.port} (MQTT over TLS)`
          : `cannot be honoured: the hub opens one plain and one TLS MQTT port (already ${x.tls ? tls[0].port : plain[0].port})`
    say(x.line, role)
  }
  return r
}

function tlsSetting(r: ImportResult, l: Line, say: (l: Line, what: string) => void): void {
  switch (l.key) {
    case 'certfile': r.config.tlsCert = l.args[0]; return say(l, `tlsCert: ${l.args[0]} (re-read when it is renewed)`)
    case 'keyfile': r.config.tlsKey = l.args[0]; return say(l, `tlsKey: ${l.args[0]}`)
    case 'cafile': r.config.tlsCa = l.args[0]; return say(l, `tlsCa: ${l.args[0]} (also served at /ca.crt for phones)`)
    case 'require_certificate': r.config.tlsRequireCert = l.args[0] === 'true'; return say(l, `tlsRequireCert: ${l.args[0] === 'true'}`)
    case 'use_identity_as_username': r.config.tlsCertUsername = l.args[0] === 'true'; return say(l, `tlsCertUsername: ${l.args[0] === 'true'}`)
    default: return say(l, 'cannot be honoured: give the CA as one PEM file (cafile); no CRLs, no subject names as users')
  }
}

/** The result as a hub config file (YAML), each key with the Mosquitto setting it came from. */
export function importedYaml(r: ImportResult, source: string, bridgeFile: string | undefined): string {
  const lines = [`# owntracks-hub configuration imported from ${source}`, '# Check it with: npx owntracks-hub serve --config THIS_FILE --check-config', '']
  for (const [k, v] of Object.entries(r.config)) lines.push(`${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
  if (bridgeFile) lines.push(`bridgeFile: ${JSON.stringify(bridgeFile)}`)
  return lines.join('\n') + '\n'
}
