/**
 * One schema per OwnTracks `_type`, after the booklet (docs/tech/json.md, features/tours.md) and
 * what the iOS and Android apps actually publish.
 *
 * These schemas only validate. decode.ts normalises the parsed JSON in place first (numeric
 * strings, millisecond timestamps) and returns that object, not zod's output: zod's copy puts
 * known keys before unknown ones, and we promise to keep payloads as published.
 *
 * Every field a schema declares as a number is also a field decode.ts converts from a numeric
 * string: adding a number here is all it takes.
 *
 * Error messages are written to follow "<field> <value> " in a reason (see decode.ts), and never
 * contain the input: payloads are people's locations.
 */
import { z } from 'zod'
import type { OwnTracksType } from './types.js'

const DAY_S = 86_400

const num = z.number()
const str = z.string()
const strings = z.array(z.string())

const lat = z.number()
  .gte(-90, { error: 'out of range [-90, 90]' })
  .lte(90, { error: 'out of range [-90, 90]' })
const lon = z.number()
  .gte(-180, { error: 'out of range [-180, 180]' })
  .lte(180, { error: 'out of range [-180, 180]' })

/** Epoch seconds (creation times, `from`/`to`): only "not before 1970". */
const epoch = z.number().gte(0, { error: 'is negative' })

/**
 * The time a fix or event happened. A day of slack covers phones with wrong clocks and time
 * zones mistaken for UTC; anything later is a broken sender and would sort after every real fix.
 */
const tst = epoch.refine((s) => s <= Date.now() / 1000 + DAY_S, {
  error: 'is more than 1 day in the future',
})

const location = z.looseObject({
  _type: z.literal('location'),
  lat,
  lon,
  tst,
  acc: num.optional(),
  alt: num.optional(),
  vac: num.optional(),
  vel: num.optional(),
  cog: num.optional(),
  batt: num.optional(),
  bs: num.optional(),
  p: num.optional(),
  rad: num.optional(),
  created_at: epoch.optional(),
  tid: str.optional(),
  t: str.optional(),
  conn: str.optional(),
  SSID: str.optional(),
  BSSID: str.optional(),
  topic: str.optional(),
  inregions: strings.optional(),
  inrids: strings.optional(),
})

/**
 * The booklet marks `wtst` and `acc` required and `lat`/`lon` optional. Both apps send lat/lon,
 * but iOS leaves out `acc` when the accuracy is invalid and older iOS could publish a transition
 * without `wtst` (or `desc`), so only `tst` and `event` are required.
 */
const transition = z.looseObject({
  _type: z.literal('transition'),
  tst,
  event: z.enum(['enter', 'leave']),
  wtst: epoch.optional(),
  lat: lat.optional(),
  lon: lon.optional(),
  acc: num.optional(),
  created_at: epoch.optional(),
  desc: str.optional(),
  t: str.optional(),
  rid: str.optional(),
  tid: str.optional(),
})

/** `tst` is the region's creation time and, with `desc`, its identity. */
const waypointShape = {
  desc: str,
  tst,
  lat: lat.optional(),
  lon: lon.optional(),
  rad: num.optional(),
  rid: str.optional(),
  uuid: str.optional(),
  major: num.optional(),
  minor: num.optional(),
}
const waypoint = z.looseObject({ _type: z.literal('waypoint'), ...waypointShape })

/** Items of a `waypoints` list usually repeat `_type: "waypoint"`; nothing needs them to. */
const waypointItem = z.looseObject({ _type: z.literal('waypoint').optional(), ...waypointShape })

const waypoints = z.looseObject({
  _type: z.literal('waypoints'),
  waypoints: z.array(waypointItem),
  _creator: str.optional(),
})

const card = z.looseObject({
  _type: z.literal('card'),
  name: str.optional(),
  face: str.optional(),
  tid: str.optional(),
})

/** `tst` is when the app first connected, not when the broker published the will. */
const lwt = z.looseObject({ _type: z.literal('lwt'), tst })

/** Commands are addressed to a device: beyond `action`, they are the sender's business. */
const cmd = z.looseObject({ _type: z.literal('cmd'), action: str })

/** The app's settings, secrets included: validated as an object and nothing more. */
const configuration = z.looseObject({ _type: z.literal('configuration') })

const steps = z.looseObject({
  _type: z.literal('steps'),
  tst: tst.optional(),
  steps: num.optional(),
  from: epoch.optional(),
  to: epoch.optional(),
})

const beacon = z.looseObject({
  _type: z.literal('beacon'),
  tst: tst.optional(),
  desc: str.optional(),
  uuid: str.optional(),
  major: num.optional(),
  minor: num.optional(),
  prox: num.optional(),
  rssi: num.optional(),
  acc: num.optional(),
})

/** App and device state (`android`/`iOS` sub-objects); its shape changes between app versions. */
const status = z.looseObject({ _type: z.literal('status') })

/** Tours (booklet features/tours.md): `tour`, `tours`, `untour` (with `uuid`). */
const request = z.looseObject({
  _type: z.literal('request'),
  request: str,
  tour: z.looseObject({
    label: str.optional(),
    from: str.optional(),
    to: str.optional(),
  }).optional(),
  uuid: str.optional(),
})

const encrypted = z.looseObject({
  _type: z.literal('encrypted'),
  data: str.refine(isBase64, { error: 'is not base64' }),
})

export const schemas = {
  location,
  transition,
  waypoint,
  waypoints,
  card,
  lwt,
  cmd,
  configuration,
  steps,
  beacon,
  status,
  request,
  encrypted,
} satisfies Record<OwnTracksType, z.ZodObject>

/** The schema for the items of a `waypoints` list (`_type` optional). */
export const waypointItemSchema = waypointItem

/**
 * Fields holding epoch seconds, per `_type`: these are the ones some senders fill with
 * milliseconds, and the ones stored as whole seconds.
 */
export const epochFields: Partial<Record<OwnTracksType, readonly string[]>> = {
  location: ['tst', 'created_at'],
  transition: ['tst', 'wtst', 'created_at'],
  waypoint: ['tst'],
  lwt: ['tst'],
  steps: ['tst', 'from', 'to'],
  beacon: ['tst'],
}

export type Transition = z.infer<typeof transition>
export type Waypoint = z.infer<typeof waypoint>
export type Waypoints = z.infer<typeof waypoints>
export type Card = z.infer<typeof card>
export type Lwt = z.infer<typeof lwt>
export type Cmd = z.infer<typeof cmd>
export type Configuration = z.infer<typeof configuration>
export type Steps = z.infer<typeof steps>
export type Beacon = z.infer<typeof beacon>
export type Status = z.infer<typeof status>
export type TourRequest = z.infer<typeof request>
export type Encrypted = z.infer<typeof encrypted>

const NOT_BASE64 = /[^A-Za-z0-9+/=\s]/

/**
 * Standard base64, line breaks allowed (older Android wrapped at 76 columns). A scan and two
 * string operations instead of one anchored regex: `[…\s]+={0,2}\s*$` backtracks quadratically
 * on a long run of whitespace, and `data` can be megabytes.
 */
function isBase64(s: string): boolean {
  if (s.length === 0 || NOT_BASE64.test(s)) return false
  const pad = s.indexOf('=')
  if (pad === -1) return true
  const tail = s.slice(pad).trimEnd()
  return tail === '=' || tail === '=='
}
