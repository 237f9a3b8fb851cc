import type { Socket } from 'node:net'
import type { Client } from 'aedes'
import { heldForConnack } from './connack-first.js'
import { grantedQos } from './granted-qos.js'
import type { Deliver, LiveDelivery } from './limits.js'

interface Delivering { subscriptions: Record<string, { qos: number }>; conn: Socket; deliver0: Deliver; deliverQoS: Deliver }

/**
 * The one function every delivery to a client goes through, in place of aedes' deliver0 and deliverQoS
 * (aedes binds a subscription to one of them when it makes it, so both are replaced before the CONNECT is
 * handled). In this order:
 *  - the QoS granted to the client's subscriptions that match (granted-qos.ts), which picks aedes' function;
 *  - nothing before the client's CONNACK (connack-first.ts);
 *  - a live message handed to the socket at once, a receiver too far behind cut off (limits.ts).
 * One closure a client: a wrapper for each step and each of the two functions cost every idle phone
 * about half a kilobyte.
 */
export function deliverThroughHub(client: Client, live: LiveDelivery): void {
  const c = client as unknown as Delivering
  const deliver0 = c.deliver0
  const deliverQoS = c.deliverQoS
  const deliver: Deliver = (packet, cb) => {
    const qos = grantedQos(c.subscriptions, packet)
    if (qos !== 0) packet.qos = qos // each subscription's delivery gets its own copy of the packet
    const inner = qos === 0 ? deliver0 : deliverQoS
    const waiting = heldForConnack(client)
    if (waiting) waiting.push(() => live(c, inner, packet, cb))
    else live(c, inner, packet, cb)
  }
  c.deliver0 = deliver
  c.deliverQoS = deliver
}
