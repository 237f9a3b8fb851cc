import { namesForCell } from './place-names.js'
import { snap } from './precision.js'
import type { GridPrecision, Part } from './types.js'

/*
 * What a share lets through of one message, by the message's own type and fields. access.present()
 * calls shape() for every message a share (not the owner, an admin or a plain acl_file line) grants;
 * every channel (MQTT live, retained and queued; /api/0/*; /ws/last; HTTP mode; the map) goes
 * through it, so a value is blurred the same way, or dropped, wherever the viewer looks.
 *
 * Two tables decide:
 *   - TYPES_OF_PART: which `_type`s the part a topic stands for may carry. A card published on the
 *     location topic is not a location, so a location-only share does not show it.
 *   - FIELDS × KINDS: each field has a class; each precision kind says per class keep, blur or drop,
 *     and which types it lets through at all. A field no table names is dropped under any reduced
 *     precision: a new field the apps start sending may pin down a place, and is shown only exactly.
 * A new precision kind is one row in KINDS; a new field is one entry in FIELDS.
 */

/** What a field tells about where someone is. */
export type FieldClass =
  /** Says nothing about the place: time, battery, tracker id, the card's name and face. */
  | 'plain'
  /** The coordinates: snapped to the precision's grid. */
  | 'position'
  /** The fix's accuracy: raised to the grid cell's half-diagonal. */
  | 'accuracy'
  /** Names or pins down a place better than the coordinates: regions, Wi-Fi, addresses, descriptions. */
  | 'place'
  /** Free text or pictures the phone attaches: could show anything, a street sign included. */
  | 'media'

export const FIELDS: Readonly<Record<string, FieldClass>> = {
  _type: 'plain', tid: 'plain', tst: 'plain', created_at: 'plain', batt: 'plain', bs: 'plain',
  conn: 'plain', t: 'plain', m: 'plain', vel: 'plain', cog: 'plain', alt: 'plain', vac: 'plain',
  p: 'plain', topic: 'plain', name: 'plain', face: 'plain',
  lat: 'position', lon: 'position',
  acc: 'accuracy',
  SSID: 'place', BSSID: 'place', inregions: 'place', inrids: 'place', addr: 'place', poi: 'place',
  desc: 'place', rid: 'place', cc: 'place', locality: 'place', tzname: 'place',
  image: 'media', imagename: 'media', tag: 'media',
}

type Action = 'keep' | 'blur' | 'drop'

interface KindRule {
  /** The types this precision shows at all; anything else (transitions, encrypted, unknown) is withheld. */
  types: ReadonlySet<string>
  fields: Readonly<Record<FieldClass, Action>>
}

const GRID: KindRule = {
  // A will says only "gone"; a card names the person, which the share shows anyway.
  types: new Set(['location', 'lwt', 'card']),
  fields: { plain: 'keep', position: 'blur', accuracy: 'blur', place: 'drop', media: 'drop' },
}

/** The grid kinds; `place` (presence only) is not a field table: access.apply() hands it to presence-view.ts. */
export const KINDS: Readonly<Record<GridPrecision['kind'], KindRule>> = {
  metres: GRID,
  geohash: GRID,
}

/** The `_type`s each part of a device may carry; a share of that part shows nothing else on its topic. */
export const TYPES_OF_PART: Readonly<Record<Part, ReadonlySet<string>>> = {
  // An encrypted payload is what the phone publishes instead of a location when it encrypts.
  location: new Set(['location', 'lwt', 'encrypted']),
  events: new Set(['transition']),
  card: new Set(['card']),
}

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k)

/**
 * The message as a share of `part` at `precision` (null: exact) shows it, or null when it must not
 * reach the viewer. Never mutates `m`; returns `m` itself when nothing changes.
 */
export function shape(m: Record<string, unknown>, part: Part, precision: GridPrecision | null): Record<string, unknown> | null {
  const type = m._type
  if (typeof type !== 'string' || !TYPES_OF_PART[part].has(type)) return null
  if (precision === null) return m
  const rule = KINDS[precision.kind]
  if (!rule.types.has(type)) return null
  const out: Record<string, unknown> = {}
  let blurs = false
  for (const k of Object.keys(m)) {
    const cls = own(FIELDS, k) ? FIELDS[k] : undefined
    const act = cls === undefined ? 'drop' : rule.fields[cls]
    if (act === 'keep') out[k] = m[k]
    else if (act === 'blur') blurs = true
  }
  if (!blurs) return out
  // Coordinates are numbers by now (the decoder normalises numeric strings); anything else could be
  // an exact position in another spelling, so the message is withheld rather than guessed at.
  const { lat, lon, acc } = m
  if (typeof lat !== 'number' || typeof lon !== 'number' || !Number.isFinite(lat) || !Number.isFinite(lon)) return null
  const c = snap(lat, lon, precision)
  out.lat = c.lat
  out.lon = c.lon
  out.acc = Math.max(typeof acc === 'number' && Number.isFinite(acc) ? acc : 0, c.radius)
  // The hub's own place names (cc, tzname, locality, addr: class 'place', dropped above) come back as
  // the cell's names, to the detail the grid allows: a town up to 10 km cells, never a street.
  return Object.assign(out, namesForCell(m, c.lat, c.lon, precision))
}
