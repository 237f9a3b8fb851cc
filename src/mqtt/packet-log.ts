import type { Client } from 'aedes'
import mqttPacket from 'mqtt-packet'
import type { Logger } from '../log.js'
import { describePublish } from './describe.js'

type Pkt = { cmd: string; messageId?: number; returnCode?: number; reasonCode?: number; sessionPresent?: boolean; granted?: number[]; dup?: boolean; qos?: number; retain?: boolean; topic?: string; payload?: Buffer }

/**
 * At --log-level debug, every packet a client sends and is sent, in Mosquitto's words
 * (`Received PUBREL from jane-phone (Mid: 7)`, `Sending PUBCOMP to jane-phone (m7)`), so a
 * Mosquitto user reads the same trace. PUBLISH and SUBSCRIBE from clients are logged by the hooks,
 * where the decision about them is made. Outgoing packets are read back from the bytes written, so
 * the line shows what went on the wire (the real message id, the dup flag), not what was meant.
 */
export function tracePackets(client: Client, log: Logger): void {
  const c = client as unknown as { id?: string; _parser: NodeJS.EventEmitter; conn: NodeJS.WritableStream }
  const name = () => c.id || '<unknown>'
  c._parser.on('packet', (p: Pkt) => {
    const line = received(p)
    if (line) log.debug(`Received ${line[0]} from ${name()}${line[1]}`)
  })
  const out = mqttPacket.parser({ protocolVersion: 4 })
  out.on('packet', (packet) => {
    const p = packet as unknown as Pkt
    const line = sent(p)
    if (line) log.debug(`Sending ${line[0]} to ${name()}${line[1]}`)
  })
  out.on('error', () => { /* a packet we cannot read back is still sent; the trace just skips it */ })
  const write = c.conn.write.bind(c.conn) as (chunk: unknown, ...rest: unknown[]) => boolean
  c.conn.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (Buffer.isBuffer(chunk)) out.parse(chunk)
    else if (typeof chunk === 'string') out.parse(Buffer.from(chunk))
    return write(chunk, ...rest)
  }) as typeof c.conn.write
}

function received(p: Pkt): [string, string] | undefined {
  switch (p.cmd) {
    case 'puback': return ['PUBACK', ` (Mid: ${p.messageId}, RC:0)`]
    case 'pubrec': return ['PUBREC', ` (Mid: ${p.messageId})`]
    case 'pubrel': return ['PUBREL', ` (Mid: ${p.messageId})`]
    case 'pubcomp': return ['PUBCOMP', ` (Mid: ${p.messageId}, RC:0)`]
    case 'unsubscribe': return ['UNSUBSCRIBE', '']
    case 'pingreq': return ['PINGREQ', '']
    case 'disconnect': return ['DISCONNECT', '']
    default: return undefined // connect: the connection lines; publish, subscribe: the hooks
  }
}

function sent(p: Pkt): [string, string] | undefined {
  switch (p.cmd) {
    case 'connack': return ['CONNACK', ` (${p.sessionPresent ? 1 : 0}, ${p.returnCode ?? 0})`]
    case 'publish': return ['PUBLISH', ` ${describePublish({ ...p, topic: p.topic ?? '' })}`]
    case 'puback': return ['PUBACK', ` (m${p.messageId}, rc0)`]
    case 'pubrec': return ['PUBREC', ` (m${p.messageId}, rc0)`]
    case 'pubrel': return ['PUBREL', ` (m${p.messageId})`]
    case 'pubcomp': return ['PUBCOMP', ` (m${p.messageId})`]
    case 'suback': return ['SUBACK', '']
    case 'unsuback': return ['UNSUBACK', '']
    case 'pingresp': return ['PINGRESP', '']
    default: return undefined
  }
}
