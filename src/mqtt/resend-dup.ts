import { pipeline, Transform, type Readable } from 'node:stream'

interface StoredPacket { cmd?: string; qos?: number; messageId?: number; dup?: boolean }
/** aedes-persistence-level gives a stream, aedes-persistence-redis an async generator. */
interface Outgoing { outgoingStream(client: unknown): Readable | AsyncIterable<StoredPacket> }

/**
 * A resumed session's stored QoS 1 and 2 messages go out again with DUP 1 when they went out before
 * (MQTT-3.3.1-1), as Mosquitto sends them; aedes sends them as they were stored, DUP 0. A stored message
 * that has a packet id got it when it was first sent (aedes stores it with its id, then writes it); one
 * queued while the session was away gets its id only now, and goes out as a first delivery, DUP 0.
 * For either persistence: the embedded LevelDB and a cluster's Redis store the id alike (Redis keeps one
 * record per message for all sessions, so there a first delivery may show DUP 1 too: allowed, DUP says
 * only that the message may have been sent before).
 */
export function dupOnResend(persistence: unknown): void {
  const p = persistence as Outgoing
  const stream = p.outgoingStream.bind(p)
  p.outgoingStream = (client) => pipeline(stream(client), new Transform({
    objectMode: true,
    transform(packet: StoredPacket, _enc, done) {
      if (packet.cmd === 'publish' && (packet.qos ?? 0) > 0 && packet.messageId) packet.dup = true
      done(null, packet)
    },
  }), () => { /* a failure reaches aedes through the stream it reads */ })
}
