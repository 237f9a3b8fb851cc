import { hostname } from 'node:os'
import { isIP } from 'node:net'

/**
 * Bridge connections in Mosquitto's syntax (mosquitto.conf(5), "Configuring Bridges"), so a friend's
 * bridge section can be pasted as is:
 *
 *   connection friend
 *   address broker.friend.example:8883
 *   topic owntracks/# both 1
 *   topic # in 1 owntracks/friend/ owntracks/
 *   remote_username hub
 *   remote_password secret
 *   bridge_cafile /etc/owntracks-hub/friend-ca.crt
 *   cleansession false
 *
 * `topic <pattern> [in|out|both [<qos> [<local-prefix> <remote-prefix>]]]`: the local topic is
 * local-prefix + pattern, the remote one remote-prefix + pattern; `""` stands for an empty pattern or
 * prefix. `out` (the default) sends local messages to the remote broker, `in` brings remote ones here.
 */
export type Direction = 'in' | 'out' | 'both'

export interface BridgeTopic {
  pattern: string
  direction: Direction
  qos: 0 | 1 | 2
  localPrefix: string
  remotePrefix: string
}

export interface BridgeConfig {
  name: string
  /** Where `connection` stands, for messages. */
  where: string
  addresses: { host: string; port: number }[]
  topics: BridgeTopic[]
  clientId: string
  username?: string
  password?: string
  /** TLS when set (like Mosquitto: a bridge CA file turns TLS on). */
  cafile?: string
  certfile?: string
  keyfile?: string
  /** bridge_insecure: skip the host name check (the certificate chain is still checked). */
  insecure: boolean
  cleanSession: boolean
  keepalive: number
  /** restart_timeout: seconds before the first retry, and the ceiling the wait doubles up to. */
  restart: { base: number; cap: number }
  /** try_private: tell the remote broker we are a bridge, so it does not send our own messages back. */
  tryPrivate: boolean
  notifications: boolean
  notificationTopic: string
}

/** A mistake in the bridge file; the message names the file, the line and what would be accepted. */
export class BridgeConfigError extends Error {}

/** Mosquitto bridge options that change nothing here: accepted, so a pasted section works, and reported once. */
const IGNORED = new Set(['start_type', 'bridge_protocol_version', 'bridge_attempt_unsubscribe', 'round_robin', 'idle_timeout', 'threshold',
  'local_clientid', 'local_username', 'local_password', 'notifications_local_only', 'bridge_outgoing_retain', 'bridge_max_packet_size',
  'bridge_tls_version', 'bridge_require_ocsp', 'bridge_alpn'])

const KNOWN = ['connection', 'address', 'addresses', 'topic', 'remote_clientid', 'clientid', 'remote_username', 'username', 'remote_password',
  'password', 'bridge_cafile', 'bridge_certfile', 'bridge_keyfile', 'bridge_insecure', 'cleansession', 'keepalive_interval', 'restart_timeout',
  'try_private', 'notifications', 'notification_topic']

export interface ParsedBridges { bridges: BridgeConfig[]; ignored: string[] }

export function parseBridgeFile(text: string, file: string): ParsedBridges {
  const bridges: BridgeConfig[] = []
  const ignored: string[] = []
  let cur: BridgeConfig | undefined
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '' || line.startsWith('#')) continue
    const where = `${file} line ${i + 1}`
    const fail = (why: string): never => { throw new BridgeConfigError(`${where}: ${why}`) }
    const [key, ...args] = tokens(line)
    const one = () => (args.length === 1 ? args[0] : fail(`${key} takes one value, got ${args.length}`))
    const bool = () => { const v = one(); return v === 'true' ? true : v === 'false' ? false : fail(`${key} must be true or false, got '${v}'`) }
    const seconds = (v: string) => (/^\d+$/.test(v) && Number(v) > 0 ? Number(v) : fail(`${key} wants whole seconds above 0, got '${v}'`))
    if (key === 'connection') {
      const name = one()
      if (!/^[\w.-]{1,64}$/.test(name)) fail(`connection name '${name}' may only use letters, digits, '_', '-' and '.'`)
      if (bridges.some((b) => b.name === name)) fail(`a second connection named '${name}'; give each a different name`)
      cur = {
        name, where, addresses: [], topics: [], clientId: `${hostname()}.${name}`, insecure: false, cleanSession: false, keepalive: 60,
        restart: { base: 5, cap: 30 }, tryPrivate: true, notifications: true, notificationTopic: '',
      }
      bridges.push(cur)
      continue
    }
    if (!cur) fail(`'${key}' before the first 'connection <name>': a bridge file holds only bridge sections`)
    const b = cur as BridgeConfig
    if (IGNORED.has(key)) { ignored.push(`${where}: ${key}`); continue }
    switch (key) {
      case 'address': case 'addresses':
        if (args.length === 0) fail(`${key} needs host[:port]`)
        for (const a of args.join(' ').split(/[\s,]+/).filter(Boolean)) b.addresses.push(address(a, fail))
        break
      case 'topic': b.topics.push(topic(args, fail)); break
      case 'remote_clientid': case 'clientid': b.clientId = one(); break
      case 'remote_username': case 'username': b.username = one(); break
      case 'remote_password': case 'password': b.password = one(); break
      case 'bridge_cafile': b.cafile = one(); break
      case 'bridge_certfile': b.certfile = one(); break
      case 'bridge_keyfile': b.keyfile = one(); break
      case 'bridge_insecure': b.insecure = bool(); break
      case 'cleansession': b.cleanSession = bool(); break
      case 'keepalive_interval': b.keepalive = seconds(one()); break
      case 'restart_timeout': {
        if (args.length < 1 || args.length > 2) fail('restart_timeout takes <seconds> or <base> <cap>')
        const base = seconds(args[0])
        b.restart = { base, cap: args[1] === undefined ? base : seconds(args[1]) }
        if (b.restart.cap < base) fail(`restart_timeout: the cap (${b.restart.cap}) is below the base (${base})`)
        break
      }
      case 'try_private': b.tryPrivate = bool(); break
      case 'notifications': b.notifications = bool(); break
      case 'notification_topic': b.notificationTopic = one(); break
      default: fail(`unknown bridge option '${key}' (known: ${KNOWN.join(', ')})`)
    }
  }
  for (const b of bridges) {
    const fail = (why: string) => { throw new BridgeConfigError(`${b.where}: connection ${b.name}: ${why}`) }
    if (b.addresses.length === 0) fail("no 'address host[:port]'")
    if (b.topics.length === 0) fail("no 'topic' line: nothing would cross the bridge")
    if ((b.certfile === undefined) !== (b.keyfile === undefined)) fail('bridge_certfile and bridge_keyfile go together')
    if (b.password !== undefined && b.username === undefined) fail('remote_password without remote_username')
    if (!b.notificationTopic) b.notificationTopic = `$SYS/broker/connection/${b.clientId}/state`
  }
  return { bridges, ignored }
}

/** Words separated by blanks; `""` is an empty word (Mosquitto's way to write an empty pattern or prefix). */
function tokens(line: string): string[] {
  return line.split(/\s+/).map((t) => (t === '""' ? '' : t))
}

function address(a: string, fail: (why: string) => never): { host: string; port: number } {
  // IPv6 needs brackets to carry a port: [::1]:1883
  let host = a
  let portText: string | undefined
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(a)
  if (bracketed) [host, portText] = [bracketed[1], bracketed[2]]
  else if (isIP(a) !== 6) {
    const m = /^([^:]+)(?::(\d+))?$/.exec(a)
    if (!m) return fail(`address '${a}' is not host[:port]`)
    ;[host, portText] = [m[1], m[2]]
  }
  const port = portText === undefined ? 1883 : Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`address '${a}': port must be 1-65535`)
  return { host, port }
}

function topic(args: string[], fail: (why: string) => never): BridgeTopic {
  if (args.length < 1 || args.length === 4 || args.length > 5) {
    fail('topic takes <pattern> [in|out|both [<qos> [<local-prefix> <remote-prefix>]]]')
  }
  const [pattern, direction = 'out', qos = '0', localPrefix = '', remotePrefix = ''] = args
  if (direction !== 'in' && direction !== 'out' && direction !== 'both') fail(`topic direction must be in, out or both, got '${direction}'`)
  if (qos !== '0' && qos !== '1' && qos !== '2') fail(`topic QoS must be 0, 1 or 2, got '${qos}'`)
  for (const p of [localPrefix, remotePrefix]) if (/[+#]/.test(p)) fail(`topic prefix '${p}' may not contain wildcards`)
  if (pattern === '' && (localPrefix === '' || remotePrefix === '')) fail('an empty pattern ("") needs both prefixes: they are then the whole topics')
  const levels = pattern.split('/')
  if (levels.some((l, i) => (l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+'))) {
    fail(`topic pattern '${pattern}': '#' only as the last level, '+' only as a whole level`)
  }
  return { pattern, direction, qos: Number(qos) as 0 | 1 | 2, localPrefix, remotePrefix }
}
