import type { AedesOptions, AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes'
import type { AccessControl, Identity } from '../access/access.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import { Deliveries } from './deliver.js'
import { clientName, describePublish } from './describe.js'
import { filterProblem } from './subscribe-filter.js'

export interface ForwardDeps {
  access: AccessControl
  stats: Stats
  log: Logger
}

/**
 * Subscriptions and deliveries: like Mosquitto 2, any well-formed filter is accepted, and each message
 * (live, retained on subscribe, queued for an offline session) is checked against its receiver when it is
 * delivered, through the one visibility decision (deliver.ts).
 */
export function forwardHooks(d: ForwardDeps, identityOf: (client: Client) => Identity | undefined): Required<Pick<AedesOptions, 'authorizeSubscribe' | 'authorizeForward'>> {
  const deliveries = new Deliveries(d.access)
  const debug = () => d.log.isLevelEnabled('debug')
  return {
    authorizeSubscribe(client, sub: Subscription, done) {
      // Like Mosquitto 2: a subscription is accepted, and each message is checked at delivery.
      if (debug()) d.log.debug(`Received SUBSCRIBE from ${client.id}\n\t${sub.topic} (QoS ${sub.qos})`)
      const bad = filterProblem(sub.topic)
      if (bad) {
        // MQTT-1.5.3-1/-2: a malformed UTF-8 string or U+0000 is a protocol violation that closes the connection.
        d.stats.protocolErrors++
        d.log.info(`Client ${clientName(client)} disconnected: SUBSCRIBE with ${bad}.`)
        return done(new Error(`SUBSCRIBE with ${bad}`), null)
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
      if (out !== packet && isQueuedReplay(packet)) {
        packet.payload = out.payload
        out = packet
      }
      if (debug()) d.log.debug(`Sending PUBLISH to ${client.id} ${describePublish(out as PublishPacket)}`)
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
