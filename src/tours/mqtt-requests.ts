import type { AedesPublishPacket, Client } from 'aedes'
import type { Logger } from '../log.js'
import type { Broker } from '../mqtt/broker.js'
import { decodePayload } from '../owntracks/decode.js'
import { deviceTopic, parseDeviceTopic } from '../owntracks/topics.js'
import type { Tours } from './tours.js'

/**
 * The MQTT side of tours: a `request` published on `<base>/<user>/<device>/request` is answered with a
 * `cmd` on `<base>/<user>/<device>/cmd` (QoS 1, so a phone that is offline gets it when it returns).
 * Listens to publishes aedes has accepted, i.e. after the access rules let them in. Only the device's
 * own user may ask: a tour makes that device's track public, and being allowed to write someone's
 * topics (an ACL grant, the admin role) is not their consent to that.
 */
export function answerTourRequests(broker: Broker, tours: Tours, base: string, log: Logger): void {
  broker.aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    if (!client) return
    const dt = parseDeviceTopic(packet.topic, base)
    if (!dt || dt.subtopic !== 'request') return
    const who = broker.hooks.identityOf(client)
    if (who?.user !== dt.user) {
      log.warn(`Request on '${packet.topic}' from ${client.id} ignored: only ${dt.user} may ask for their own tours.`)
      return
    }
    const decoded = decodePayload(packet.payload)
    if (!decoded.ok || decoded.message._type !== 'request') {
      log.warn(`Request on '${packet.topic}' from ${client.id} ignored: ${decoded.ok ? `a ${decoded.message._type}, not a request` : decoded.reason}.`)
      return
    }
    tours.handleRequest(dt.user, dt.device, decoded.message).then((answer) => {
      if (!answer) return
      const topic = deviceTopic(dt.user, dt.device, 'cmd', base)
      broker.publish({ topic, payload: Buffer.from(JSON.stringify(answer)), qos: 1, retain: false }, 'hub:tours').catch((err: Error) => {
        log.error(`Could not publish the answer to ${dt.user}/${dt.device}'s ${String(decoded.message.request)} request: ${err.message}`)
      })
    }, (err: Error) => log.error(`Tour request from ${dt.user}/${dt.device} failed: ${err.message}`))
  })
}
