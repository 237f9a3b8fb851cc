/**
 * One copy of each message for a persistent session that resumes. aedes queues every QoS 1/2 message
 * for every persistent subscription, connected or not, and a live delivery takes over the queued entry.
 * When a session reconnects, its queue is replayed while its restored subscriptions already receive live
 * messages, so a message published in that moment can arrive twice: from the queue and live. aedes' own
 * check (the highest counter seen per broker) guards live deliveries only. Between cluster nodes the
 * moment lasts as long as a message takes through Redis, which made it visible.
 *
 * A message is named by the broker that took it (brokerId, brokerCounter), the same name on both paths.
 * For a short while after its first delivery a connection remembers the names it was given and refuses
 * a second copy; aedes then clears the copy's queue entry. The window opens at the first delivery, not
 * at the 'client' event: aedes restores the subscriptions (and live messages may arrive) before it
 * emits that. Retained messages sent on SUBSCRIBE are left
 * alone: they are meant to arrive on every subscribe.
 */
const WINDOW_MS = 10_000
const MAX_NAMES = 10_000

interface Named {
  brokerId?: string
  brokerCounter?: number
  qos: number
  retain: boolean
}

interface Window {
  until: number
  names: Set<string>
}

export class ReplayDedupe {
  /** null: this connection's window is over and it holds nothing any more. */
  private readonly seen = new WeakMap<object, Window | null>()

  /** False when this connection has already been given this message. */
  first(client: { clean: boolean }, packet: Named, replayed: boolean, now = Date.now()): boolean {
    if (client.clean || packet.qos === 0 || !packet.brokerId || (packet.retain && !replayed)) return true
    let w = this.seen.get(client)
    if (w === null) return true
    if (w === undefined) {
      w = { until: now + WINDOW_MS, names: new Set() }
      this.seen.set(client, w)
    } else if (now > w.until) {
      this.seen.set(client, null)
      return true
    }
    const name = `${packet.brokerId}:${packet.brokerCounter}`
    if (w.names.has(name)) return false
    if (w.names.size < MAX_NAMES) w.names.add(name)
    return true
  }
}
