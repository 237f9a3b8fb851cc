import type { AedesOptions, AedesPublishPacket, Client, Subscription } from 'aedes'
import type { AccessControl, Identity } from '../access/access.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import { Deliveries } from './deliver.js'
import { clientName } from './describe.js'
import { ReplayDedupe } from './replay-dedupe.js'
import { filterProblem } from './subscribe-filter.js'

export interface ForwardDeps {
  access: AccessControl
  stats: Stats
  log: Logger
}

/**
 * Subscriptions and deliveries: a well-formed filter is granted unless it is a plain topic the subscriber
 * may never read (SUBACK 0x80), and each message (live, retained on subscribe, queued for an offline
 * session) is checked against its receiver when it is delivered, through the one visibility decision
 * (deliver.ts). A resuming persistent session gets each message once (replay-dedupe.ts).
 */
export function forwardHooks(d: ForwardDeps, identityOf: (client: Client) => Identity | undefined): Required<Pick<AedesOptions, 'authorizeSubscribe' | 'authorizeForward'>> {
  const deliveries = new Deliveries(d.access)
  const replays = new ReplayDedupe()
  const debug = () => d.log.isLevelEnabled('debug')
  return {
    authorizeSubscribe(client, sub: Subscription, done) {
      // A filter with wildcards is granted and each message is checked at delivery (rules change while
      // a subscription lasts). A plain topic the rules deny can never deliver anything: its SUBACK says
      // 0x80 (MQTT-3.9.3: the server may refuse a filter; Mosquitto 2.0 grants it and delivers nothing).
      if (debug()) d.log.debug(`Received SUBSCRIBE from ${client.id}\n\t${sub.topic} (QoS ${sub.qos})`)
      const bad = filterProblem(sub.topic)
      if (bad) {
        // MQTT-1.5.3-1/-2: a malformed UTF-8 string or U+0000 is a protocol violation that closes the connection.
        d.stats.protocolErrors++
        d.log.info(`Client ${clientName(client)} disconnected: SUBSCRIBE with ${bad}.`)
        return done(new Error(`SUBSCRIBE with ${bad}`), null)
      }
      const who = identityOf(client)
      if (!who || (!/[#+]/.test(sub.topic) && !d.access.canRead(who, sub.topic))) {
        d.log.info(`Denied SUBSCRIBE from ${client.id} to '${sub.topic}': ${who ? d.access.decide(who, sub.topic, 'read').reason : 'not signed in'}.`)
        return done(null, null)
      }
      done(null, sub)
    },

    authorizeForward(client, packet: AedesPublishPacket) {
      const who = identityOf(client)
      if (!who) return null
      let out = deliveries.forward(who, packet)
      if (!out) {
        d.stats.deniedDelivery++
        return null
      }
      const replayed = isQueuedReplay(packet)
      if (!replays.first(client, packet, replayed)) {
        if (debug()) d.log.debug(`Dropped a second copy of a message on '${packet.topic}' for ${client.id}`)
        return null
      }
      if (out !== packet && replayed) {
        packet.payload = out.payload
        out = packet
      }
      return out
    },
  }
}

/**
 * A message replayed from a persistent session's offline queue on reconnect. aedes 1.x
 * (lib/handlers/connect.js, emptyQueueFilter) asks authorizeForward only yes or no there and then
 * writes the packet it asked about, so a changed copy (a blurred location) would be ignored and the
 * exact one sent. That packet is this client's own copy, freshly read from persistence (a QoSPacket,
 * the only kind that already has its writeCallback when authorizeForward sees it), so the view's
 * change is applied to it in place. Live and retained deliveries pass a shared packet and build the
 * delivery from what authorizeForward returns: they keep getting a copy.
 */
function isQueuedReplay(packet: object): boolean {
  return Object.prototype.hasOwnProperty.call(packet, 'writeCallback')
}
