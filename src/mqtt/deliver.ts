import type { AccessControl, Identity, TopicView } from '../access/access.js'
import { decodePayload } from '../owntracks/decode.js'

/**
 * MQTT's side of access.present(): the packet one receiver gets of a delivery (live, retained on
 * subscribe, queued for an offline session, from a bridge), as the same decision the HTTP channels
 * use. A topic the receiver reads as published (their own, an admin, a plain acl_file line) passes
 * byte for byte. Under a share, the payload is decoded first — the decoder's normalisation
 * (numeric strings to numbers, milliseconds to seconds) is what HTTP serves from the store too — so a
 * value is blurred identically everywhere, and a payload the decoder refuses is withheld: it could
 * carry an exact position in a form the view cannot see into.
 */
export class Deliveries {
  /** One published message fans out to many receivers: shape it once per kind of view. */
  private shaped = new WeakMap<object, Map<string, Buffer | null>>()

  constructor(private readonly access: AccessControl) {}

  /** The packet `who` gets: the same object, a changed copy (never mutate: others share it), or null. */
  forward<P extends { topic: string; payload: Buffer | string }>(who: Identity, packet: P): P | null {
    const view = this.access.deliveryView(who, packet.topic)
    if (view === null) return null
    if (!view.spec.shared) return packet
    let perPacket = this.shaped.get(packet)
    if (!perPacket) { perPacket = new Map(); this.shaped.set(packet, perPacket) }
    const key = `${view.part}\x00${view.spec.precision?.text ?? ''}`
    let payload = perPacket.get(key)
    if (payload === undefined) {
      payload = this.shape(view, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload)
      perPacket.set(key, payload)
    }
    if (payload === null) return null
    return payload === packet.payload ? packet : { ...packet, payload }
  }

  private shape(view: TopicView, payload: Buffer): Buffer | null {
    if (payload.length === 0) return payload // clears a retained message: nothing to hide
    const res = decodePayload(payload)
    if (!res.ok) return null
    const out = this.access.apply(view, res.message)
    if (out === null) return null
    // A presence-only viewer's friend who is away: the apps cannot show a location without coordinates.
    if (out._type === 'location' && typeof out.lat !== 'number') return null
    // An exact share of an allowed type: the bytes as published, as the owner gets them.
    return out === res.message && view.spec.precision === null ? payload : Buffer.from(JSON.stringify(out))
  }
}
