import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

/** A location payload as the apps send it. */
export function location(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { _type: 'location', tid: 'ph', lat: 48.8583, lon: 2.2945, tst: Math.floor(Date.now() / 1000), acc: 12, batt: 81, bs: 1, conn: 'w', ...over }
}

/**
 * An MQTT.js client behaving like the OwnTracks app: MQTT 3.1.1, clean session off,
 * client id <user><device>, a will of {"_type":"lwt"} on its device topic.
 */
export async function phone(port: number, user: string, password: string, device = 'phone', over: IClientOptions = {}): Promise<MqttClient> {
  const topic = `owntracks/${user}/${device}`
  return settled(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 4,
    clientId: `${user}${device}`,
    clean: false,
    username: user,
    password,
    keepalive: 60,
    reconnectPeriod: 0,
    will: { topic, payload: Buffer.from(JSON.stringify({ _type: 'lwt', tst: Math.floor(Date.now() / 1000) })), qos: 1, retain: false },
    ...over,
  }))
}

/** A plain MQTT.js client (clean session, no will). */
export function client(port: number, user: string | undefined, password: string | undefined, over: IClientOptions = {}): Promise<MqttClient> {
  return settled(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, username: user, password, reconnectPeriod: 0, connectTimeout: 5000, ...over }))
}

/**
 * A plain MQTT.js client whose messages are collected from its first packet on. A persistent session that
 * resumes gets its queue right behind the CONNACK, often in the same segment, and MQTT.js emits those
 * messages before the code after `await client(…)` runs: a collector attached there misses them.
 */
export async function resumed(port: number, user: string, password: string, over: IClientOptions = {}): Promise<{ c: MqttClient; got: ReturnType<typeof collect> }> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, username: user, password, reconnectPeriod: 0, connectTimeout: 5000, ...over })
  const got = collect(c)
  await settled(new Promise<MqttClient>((resolve, reject) => { c.once('connect', () => resolve(c)); c.once('error', reject) }))
  return { c, got }
}

/**
 * MQTT.js never settles connectAsync when the broker closes the socket before its CONNACK (e.g. a refused
 * connection limit): fail the test clearly instead of hanging it.
 */
function settled(p: Promise<MqttClient>, ms = 10_000): Promise<MqttClient> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no CONNACK within ${ms} ms`)), ms) })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Collects messages a client receives, by topic. */
export function collect(c: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const got: { topic: string; payload: string; retain: boolean }[] = []
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }))
  return got
}
