import { outside, size } from './geometry.js'
import type { Place, PlacesRules } from './types.js'

/** A fix as the tracker needs it. */
export interface Fix { lat: number; lon: number; acc?: number; tst: number }

/** Where a device is with respect to one place, and since when (epoch s). */
export interface PlaceState { inside: boolean; since: number }

export interface Transition {
  user: string
  device: string
  place: Place
  event: 'enter' | 'leave'
  /** When the new state began (the first fix showing it), epoch s. */
  tst: number
  fix: Fix
}

interface Track extends PlaceState {
  /** A different state seen but not yet lasted `dwell`. */
  pending?: { inside: boolean; since: number }
  /** The newest fix considered: older ones arriving late do not move the state back. */
  last: number
}

/**
 * Which of a person's places each of their devices is in. Per device and place: a fix only counts when
 * its accuracy circle fits in the place; it is inside when within the edge, outside only beyond the
 * edge plus `margin` (between the two the state stays); and a new state counts once a later fix still
 * shows it `dwell` seconds after the first one did. So a phone at the fence does not flap.
 */
export class PresenceTracker {
  private readonly tracks = new Map<string, Track>()

  constructor(private rules: PlacesRules) {}

  setRules(rules: PlacesRules): void {
    this.rules = rules
    const ids = new Set(rules.places.map((p) => p.id))
    for (const k of this.tracks.keys()) if (!ids.has(k.slice(k.lastIndexOf('\x00') + 1))) this.tracks.delete(k)
  }

  placesOf(user: string): Place[] { return this.rules.places.filter((p) => p.people.includes(user)) }

  /** Restores a state known from history (the newest hub transition), so a restart does not repeat it. */
  restore(user: string, device: string, placeId: string, s: PlaceState): void {
    this.tracks.set(key(user, device, placeId), { ...s, last: s.since })
  }

  /** The transitions this fix causes, in time order. */
  observe(user: string, device: string, fix: Fix): Transition[] {
    const out: Transition[] = []
    for (const place of this.placesOf(user)) {
      const k = key(user, device, place.id)
      const t = this.tracks.get(k)
      if (t && fix.tst < t.last) continue
      if (typeof fix.acc === 'number' && fix.acc > size(place.shape)) continue
      const d = outside(place.shape, fix.lat, fix.lon)
      const seen = d <= 0 ? true : d > this.rules.margin ? false : undefined
      if (!t) {
        // First word of this device about this place: inside is news; outside is where everyone starts.
        if (seen === undefined) continue
        if (seen && this.rules.dwell > 0) { this.tracks.set(k, { inside: false, since: fix.tst, last: fix.tst, pending: { inside: true, since: fix.tst } }); continue }
        this.tracks.set(k, { inside: seen, since: fix.tst, last: fix.tst })
        if (seen) out.push({ user, device, place, event: 'enter', tst: fix.tst, fix })
        continue
      }
      t.last = fix.tst
      if (seen === undefined || seen === t.inside) { t.pending = undefined; continue }
      if (!t.pending || t.pending.inside !== seen) t.pending = { inside: seen, since: fix.tst }
      if (fix.tst - t.pending.since < this.rules.dwell) continue
      t.inside = seen
      t.since = t.pending.since
      t.pending = undefined
      out.push({ user, device, place, event: seen ? 'enter' : 'leave', tst: t.since, fix })
    }
    return out.sort((a, b) => a.tst - b.tst)
  }

  /** The place a device is in now (the one entered last), with when; undefined: at none of them. */
  current(user: string, device: string): { place: Place; since: number } | undefined {
    let best: { place: Place; since: number } | undefined
    for (const place of this.placesOf(user)) {
      const t = this.tracks.get(key(user, device, place.id))
      if (t?.inside && (!best || t.since > best.since)) best = { place, since: t.since }
    }
    return best
  }

  /** When the device was last seen leaving a place or at none: for "away since". */
  awaySince(user: string, device: string): number | undefined {
    let since: number | undefined
    for (const place of this.placesOf(user)) {
      const t = this.tracks.get(key(user, device, place.id))
      if (t && !t.inside && (since === undefined || t.since > since)) since = t.since
    }
    return since
  }

  /** Whether any device of `user` is in one of the named places. */
  personIn(user: string, names: string[], devices: string[]): boolean {
    return devices.some((d) => { const c = this.current(user, d); return c !== undefined && names.includes(c.place.name) })
  }
}

const key = (u: string, d: string, p: string) => `${u}\x00${d}\x00${p}`
