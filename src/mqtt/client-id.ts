import { randomUUID } from 'node:crypto'
import type { Client } from 'aedes'
import type { Logger } from '../log.js'
import { peerOf } from './describe.js'

/** CONNACK with return code 2, "identifier rejected", as MQTT 3.1.1 §3.2 lays it out. */
const IDENTIFIER_REJECTED = Buffer.from([0x20, 0x02, 0x00, 0x02])

/**
 * A CONNECT with an empty client id. MQTT 3.1.1 lets the server name the client, but only for a clean
 * session [MQTT-3.1.3-6]: a persistent session nobody can name again could never be resumed, so with
 * clean session 0 the answer is CONNACK 2 and the connection closes [MQTT-3.1.3-8]. MQTT 3.1 (MQIsdp)
 * has no server-made ids at all. The id the hub makes reads like Mosquitto's (`auto-<uuid>`), so log
 * lines and $SYS look the same as before the switch.
 *
 * Returns false when the connection was refused (the CONNACK is written and the socket closed here).
 */
export function assignClientId(client: Client, packet: { clientId: string; clean: boolean; protocolVersion: number }, log: Logger): boolean {
  if (packet.clientId !== '') return true
  if (packet.clean && packet.protocolVersion === 4) {
    packet.clientId = `auto-${randomUUID().toUpperCase()}`
    return true
  }
  const why = packet.protocolVersion === 4
    ? 'a zero-length client id needs clean session 1 (MQTT-3.1.3-8); give the client an id or set clean session'
    : 'MQTT 3.1 requires a client id; give the client one or use MQTT 3.1.1'
  log.info(`Client <unknown> from ${peerOf(client)} refused, identifier rejected: ${why}.`)
  const conn = (client as unknown as { conn: NodeJS.WritableStream & { destroy(): void } }).conn
  conn.end(IDENTIFIER_REJECTED, () => conn.destroy())
  return false
}
