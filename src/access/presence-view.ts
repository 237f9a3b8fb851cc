/*
 * Presence-only sharing (`precision: place` in acl/sharing.yml): the viewer learns which of the
 * sharer's places a device is in, or that it is at none ("away"), and since when; never coordinates
 * other than the place's own centre. What each kind of message becomes:
 *
 *   location         at a place: a location at the place's centre, acc = its radius, inregions = [name],
 *                    and presence {place, since}; away: over MQTT and HTTP mode nothing (a location
 *                    without lat/lon would break the apps), in the APIs and the map a record with
 *                    presence {place: null, since} and no lat/lon
 *   hub transition   (hub: true, see places/hub-transitions.ts) its coordinates replaced by the place's centre
 *   phone transition withheld: a phone's own regions are not places shared with the viewer
 *   card, lwt        as they are: they carry no position
 *   anything else    withheld
 *
 * Its history (`locations` in every format, exports, the map's History) is the place visits: each hub
 * transition of the device becomes the presence record that held from then on (visitRecords below), so
 * an arrival reads "at school since 08:02" at the school's centre and a departure "away since 15:10"
 * without coordinates. The stored fixes themselves never reach such a viewer, nor days, visits or trips
 * computed from them.
 */

/** Where a device is among its owner's places, as the tracker knows it. */
export interface PresenceSource {
  at(user: string, device: string): { name: string; lat: number; lon: number; radius: number; since: number } | undefined
  awaySince(user: string, device: string): number | undefined
  /** The centre and radius of one of `user`'s places by region id (hub transitions name it). */
  place(user: string, rid: string): { lat: number; lon: number; radius: number } | undefined
}

const NONE: PresenceSource = { at: () => undefined, awaySince: () => undefined, place: () => undefined }

const round6 = (x: number) => Math.round(x * 1e6) / 1e6

/** A record as the presence-only viewer may see it (APIs, /ws/last, the map), or null to withhold it. */
export function presenceRecord(m: Record<string, unknown>, user: string, device: string, src: PresenceSource = NONE): Record<string, unknown> | null {
  const type = m._type
  if (type === 'card' || type === 'lwt') return m
  if (type === 'location' || (type === undefined && 'lat' in m)) {
    const out: Record<string, unknown> = { _type: 'location', tst: m.tst }
    if (typeof m.tid === 'string') out.tid = m.tid
    const at = src.at(user, device)
    if (at) {
      Object.assign(out, { lat: round6(at.lat), lon: round6(at.lon), acc: Math.round(at.radius), inregions: [at.name], presence: { place: at.name, since: at.since } })
      if (typeof m.tst === 'number' && m.tst < at.since) out.tst = at.since
    } else {
      out.presence = { place: null, since: src.awaySince(user, device) ?? null }
    }
    return out
  }
  if (type === 'transition' && m.hub === true && typeof m.rid === 'string') {
    const p = src.place(user, m.rid)
    if (!p) return null
    const out: Record<string, unknown> = { _type: 'transition', event: m.event, desc: m.desc, t: m.t, tst: m.tst, wtst: m.wtst, rid: m.rid, hub: true, lat: round6(p.lat), lon: round6(p.lon), acc: Math.round(p.radius) }
    if (typeof m.tid === 'string') out.tid = m.tid
    return out
  }
  return null
}

/** The payload an MQTT (or HTTP mode) presence-only receiver gets, or null: never a location without lat/lon. */
export function presencePayload(payload: Buffer, user: string, device: string, src: PresenceSource): Buffer | null {
  if (payload.length === 0) return payload
  let m: unknown
  try { m = JSON.parse(payload.toString('utf8')) } catch { return null }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return null
  const out = presenceRecord(m as Record<string, unknown>, user, device, src)
  if (out === null || (out._type === 'location' && typeof out.lat !== 'number')) return null
  return out === m ? payload : Buffer.from(JSON.stringify(out))
}

/**
 * Folds a device's stored transitions (ascending) into the presence records a presence-only viewer's
 * history shows: after each hub enter or leave, where the device then is — the place entered last of
 * those it is still in, or away. The phone's own transitions and those of places no longer in the file
 * change nothing; a record repeating the state before it is left out.
 */
export class VisitRecords {
  private readonly inside = new Map<string, { name: string; lat: number; lon: number; radius: number; since: number }>()
  private shown = ''

  constructor(private readonly user: string, private readonly device: string, private readonly src: PresenceSource = NONE) {}

  /** The record this transition leads to, or null when it changes nothing the viewer may see. */
  add(m: Record<string, unknown>): Record<string, unknown> | null {
    if (m._type !== 'transition' || m.hub !== true || typeof m.rid !== 'string' || typeof m.tst !== 'number') return null
    const p = this.src.place(this.user, m.rid)
    if (!p) return null
    if (m.event === 'enter') this.inside.set(m.rid, { name: String(m.desc ?? ''), ...p, since: m.tst })
    else if (m.event === 'leave') this.inside.delete(m.rid)
    else return null
    let at: { name: string; lat: number; lon: number; radius: number; since: number } | undefined
    for (const x of this.inside.values()) if (!at || x.since > at.since) at = x
    const out: Record<string, unknown> = { _type: 'location', tst: m.tst }
    if (typeof m.tid === 'string') out.tid = m.tid
    if (at) Object.assign(out, { lat: round6(at.lat), lon: round6(at.lon), acc: Math.round(at.radius), inregions: [at.name], presence: { place: at.name, since: at.since } })
    else out.presence = { place: null, since: m.tst }
    // Away stays away: a second leave (of a place entered before the window) is no news.
    const key = at ? JSON.stringify(out.presence) : 'away'
    if (key === this.shown) return null
    this.shown = key
    return out
  }
}
