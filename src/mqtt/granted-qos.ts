import type { Client } from 'aedes'
import { topicMatches } from '../access/topic-match.js'

type Deliver = (packet: { topic: string; qos: number }, cb: () => void) => void

/**
 * Delivers each message at the lower of its published QoS and the highest QoS granted to the
 * receiver's subscriptions that match it (MQTT-3.8.4-6, MQTT-3.3.5-1). aedes 1.x downgrades only
 * when a subscription's filter equals the topic (it looks the topic up among the filters), so a
 * QoS 2 publish reached a `owntracks/#` subscription granted QoS 1 as QoS 2; and with overlapping
 * filters, whichever matched first decided the QoS, since its de-duplication drops the others.
 *
 * aedes picks a subscription's delivery function when the subscription is made, so replacing both
 * before the CONNECT is handled routes every subscription of this client through here.
 */
export function deliverAtGrantedQos(client: Client): void {
  const c = client as unknown as { subscriptions: Record<string, { qos: number }>; deliver0: Deliver; deliverQoS: Deliver }
  const deliver0 = c.deliver0
  const deliverQoS = c.deliverQoS
  const route: Deliver = (packet, cb) => {
    let granted = -1
    for (const filter in c.subscriptions) {
      const q = c.subscriptions[filter].qos
      if (q > granted && topicMatches(filter, packet.topic)) granted = q
    }
    // No matching subscription: a message aedes sends this client directly; it keeps its QoS.
    const qos = granted < 0 ? packet.qos : Math.min(packet.qos, granted)
    if (qos === 0) return deliver0(packet, cb)
    packet.qos = qos // each subscription's delivery gets its own copy of the packet
    deliverQoS(packet, cb)
  }
  c.deliver0 = route
  c.deliverQoS = route
}
