import { topicMatches } from '../access/topic-match.js'

/**
 * The QoS a message is delivered at: the lower of its published QoS and the highest QoS granted to the
 * receiver's subscriptions that match it (MQTT-3.8.4-6, MQTT-3.3.5-1). aedes 1.x downgrades only
 * when a subscription's filter equals the topic (it looks the topic up among the filters), so a
 * QoS 2 publish reached a `owntracks/#` subscription granted QoS 1 as QoS 2; and with overlapping
 * filters, whichever matched first decided the QoS, since its de-duplication drops the others.
 * Every delivery asks it (client-delivery.ts).
 */
export function grantedQos(subscriptions: Record<string, { qos: number }>, packet: { topic: string; qos: number }): number {
  let granted = -1
  for (const filter in subscriptions) {
    const q = subscriptions[filter].qos
    if (q > granted && topicMatches(filter, packet.topic)) granted = q
  }
  // No matching subscription: a message aedes sends this client directly; it keeps its QoS.
  return granted < 0 ? packet.qos : Math.min(packet.qos, granted)
}
