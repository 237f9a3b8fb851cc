import type { AedesOptions, Client } from 'aedes'
import type { AccessControl, Identity } from '../access/access.js'
import type { Ingest } from '../ingest.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats.js'
import { describePublish } from './describe.js'

export interface AcceptPublishDeps {
  access: AccessControl
  ingest: Ingest
  stats: Stats
  log: Logger
  /** Publishes refused by access: acknowledged, then discarded by orderPublishes. */
  drop: WeakSet<object>
}

/**
 * A client's PUBLISH: may its sender write that topic (else it is acknowledged and dropped, as
 * Mosquitto 2 does), then decode → store before aedes acknowledges it, so acknowledged means stored.
 */
export function acceptPublish(d: AcceptPublishDeps, identityOf: (client: Client) => Identity | undefined): NonNullable<AedesOptions['authorizePublish']> {
  const debug = () => d.log.isLevelEnabled('debug')
  return function authorizePublish(client, packet, done) {
    d.stats.messagesIn++
    if (client && debug()) d.log.debug(`Received PUBLISH from ${client.id} ${describePublish(packet)}`)
    if (client) {
      const who = identityOf(client)
      if (!who || !d.access.canWrite(who, packet.topic)) {
        d.stats.deniedPublish++
        d.log.info(`Denied PUBLISH from ${client.id} ${describePublish(packet)}`)
        d.drop.add(packet)
        return done(null)
      }
    }
    // The DUP of an incoming PUBLISH says the client sent it before; it is not passed on to subscribers,
    // whose copy is a first delivery (MQTT-3.3.1-3). Logged above as it came, as Mosquitto logs it.
    packet.dup = false
    // A will published after a restart has no client any more; its topic was checked at CONNECT.
    d.ingest.handle(packet.topic, toBuffer(packet.payload), client ? client.id : 'will').then(
      (outcome) => {
        if (outcome.kind === 'refused') d.drop.add(packet) // acknowledged, so the phone does not resend it forever
        done(null)
      },
      (err: Error) => done(err), // not stored → not acknowledged: the phone keeps it and retries
    )
  }
}

const toBuffer = (p: Buffer | string | undefined): Buffer => (p === undefined ? Buffer.alloc(0) : typeof p === 'string' ? Buffer.from(p) : p)
