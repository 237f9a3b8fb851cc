import { finished, type Duplex } from 'node:stream'
import type { Aedes, Client } from 'aedes'

interface Connecting { connackSent?: boolean; conn: Duplex }

/** Deliveries that reached a connecting client before its CONNACK went out, in arrival order; and what stops watching its socket. */
const held = new WeakMap<Client, { queue: Array<() => void>; unwatch: () => void }>()

/**
 * Sends nothing to a client before its CONNACK (MQTT-3.2.0-1: the first packet from the server is
 * CONNACK). aedes restores a resumed session's subscriptions before it answers the CONNECT, and the
 * will, the takeover and the session clean-up still wait on the persistence after that, so a message
 * published meanwhile went out first. MQTT.js then never saw its CONNACK (it drops what comes
 * before it): it timed out and reconnected, into the same race, most often on a cluster, where
 * those steps are Redis round trips.
 *
 * Called before the CONNECT is handled; every delivery to the client asks heldForConnack
 * (client-delivery.ts). What arrives early waits here and goes out, in order, once aedes has written
 * the CONNACK, or meets the closed client as aedes would have met it.
 */
export function connackFirst(client: Client): void {
  const c = client as unknown as Connecting
  // Watched only until the CONNACK: its listeners would otherwise stay on the socket of every idle phone.
  held.set(client, { queue: [], unwatch: finished(c.conn, () => release(client)) })
}

/**
 * Where a delivery to the client waits for its CONNACK: the queue, which goes out once the CONNACK has been
 * written; undefined when it need not wait.
 */
export function heldForConnack(client: Client): Array<() => void> | undefined {
  if ((client as unknown as Connecting).connackSent) return undefined
  return held.get(client)?.queue
}

/** Lets the held deliveries of every client go once its CONNACK is written; install once per broker. */
export function releaseAtConnack(aedes: Aedes): void {
  // aedes emits this from the CONNACK's write callback, so the CONNACK is ahead in the socket.
  aedes.on('connackSent', (_packet: unknown, client: Client) => release(client))
}

function release(client: Client): void {
  const h = held.get(client)
  if (!h) return
  held.delete(client)
  h.unwatch()
  for (const deliver of h.queue) deliver()
}
