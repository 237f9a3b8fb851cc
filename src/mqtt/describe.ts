import type { Client } from 'aedes'

/** Mosquitto's packet summary: `(d0, q1, r1, m7, 'topic', ... (159 bytes))`. Never the payload. */
export function describePublish(p: { dup?: boolean; qos?: number; retain?: boolean; messageId?: number; topic: string; payload?: Buffer | string }): string {
  const len = p.payload ? (typeof p.payload === 'string' ? Buffer.byteLength(p.payload) : p.payload.length) : 0
  return `(d${p.dup ? 1 : 0}, q${p.qos ?? 0}, r${p.retain ? 1 : 0}, m${p.messageId ?? 0}, '${p.topic}', ... (${len} bytes))`
}

/** `127.0.0.1:43324`, or what the transport knows about its peer. */
export function peerOf(client: Client | null): string {
  const c = client as unknown as { conn?: { remoteAddress?: string; remotePort?: number }; req?: { socket?: { remoteAddress?: string; remotePort?: number } } } | null
  const s = c?.conn?.remoteAddress ? c.conn : c?.req?.socket
  if (!s?.remoteAddress) return 'unknown'
  const host = s.remoteAddress.startsWith('::ffff:') ? s.remoteAddress.slice(7) : s.remoteAddress
  return `${host}:${s.remotePort}`
}

export const clientName = (client: Client | null): string => client?.id || '<unknown>'
