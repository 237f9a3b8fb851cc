/**
 * Payload bytes (an MQTT publish, an HTTP POST body) → a validated, normalised OwnTracks message,
 * or a short reason why it cannot go into history. Runs for every publish, so the success path
 * does one JSON.parse, a few property reads, one zod pass (for a location, a hand-written check
 * instead: location-check.ts) and no string building.
 *
 * Decoding never decides delivery: MQTT subscribers always get the payload as published. It only
 * decides what history stores, so rejecting is cheap and accepting garbage is not (a bad `tst`
 * sorts a track wrong forever). README.md ("Payloads: what the hub stores") says the same for users; keep the two in step.
 *
 * Rejected (reason in quotes):
 *   - empty payload ("empty payload": an empty retained publish is how MQTT clears a retained
 *     message, not a broken app), non-JSON ("not JSON"), JSON that is not an object
 *     ("not a JSON object (got array)"), `_type` missing ("no _type"), not a string, or not one
 *     the apps speak ("unknown _type 'foo'", quoted, cut at 32 characters, non-ASCII as '?').
 *   - a field of the wrong type, even after the conversions below
 *     ("location: acc must be a number (got string)"); `null` counts as a wrong type.
 *   - a required field missing ("location: tst missing (…)"): per type, see payloads.ts.
 *   - lat outside [-90, 90], lon outside [-180, 180] ("location: lat 200 out of range [-90, 90]");
 *     an epoch below 0; a `tst` more than a day after Date.now(); `transition.event` other than
 *     enter/leave; `encrypted.data` not base64.
 * Normalised in place, each change listed in `normalised` as "<path>: <what>":
 *   - a field the schema types as a number, sent as a numeric string ("48.85", "-3", "1e3";
 *     not "", "0x10", "NaN", nor anything over 32 characters) → that number.
 *   - an epoch field (tst, wtst, created_at, steps' from/to) above 1e11 (year 5138 in seconds,
 *     1973 in milliseconds) → milliseconds, divided by 1000 and floored; a fractional epoch →
 *     floored, because history keys use whole seconds.
 *   - the same inside each item of a `waypoints` list.
 * Kept as published: every other field, unknown ones included, in the order received;
 * `cmd`, `configuration` and `status` beyond their `_type` (and `cmd.action`).
 * Not limited: size. A megabyte `face` decodes; limiting payload size is the listeners' job.
 *
 * Reasons never contain the payload, which is someone's location: only field names, the
 * offending number for range errors, and a cut-down unknown `_type`. JSON.parse's own error
 * message quotes the input, so it is dropped.
 */
import { z } from 'zod'
import { plainLocation } from './location-check.js'
import { epochFields, schemas, waypointItemSchema } from './payloads.js'
import type { DecodeResult, Location, OwnTracksMessage, OwnTracksType } from './types.js'

type Obj = Record<string, unknown>

interface Plan {
  type: OwnTracksType
  schema: z.ZodType
  /** Fields the schema types as numbers: these accept numeric strings. */
  numeric: readonly string[]
  epochs: readonly string[]
}

const MS_THRESHOLD = 1e11
const MAX_NUMERIC_STRING = 32
/** Unambiguous on purpose (`\d+(\.\d*)?`, not `\d+\.?\d*`) so a failing match cannot backtrack. */
const NUMERIC = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/

const PLANS = new Map<string, Plan>()
for (const type of Object.keys(schemas) as OwnTracksType[]) {
  PLANS.set(type, plan(type, schemas[type]))
}
const WAYPOINT_ITEM = plan('waypoint', waypointItemSchema)

const WHY_REQUIRED: Record<string, string> = {
  'location.tst': ' (a location without a fix time cannot be ordered)',
}

export function decodePayload(payload: Buffer | string): DecodeResult {
  return decode(payload, true)
}

/**
 * The same decoding with every message through its zod schema, the hand-written location check
 * (location-check.ts) left out: the reference the tests hold the fast path to.
 */
export function decodePayloadBySchema(payload: Buffer | string): DecodeResult {
  return decode(payload, false)
}

function decode(payload: Buffer | string, fast: boolean): DecodeResult {
  let text = typeof payload === 'string' ? payload : payload.toString('utf8')
  if (text.length === 0) return fail('empty payload')
  // Some HTTP clients prepend a UTF-8 byte order mark, which JSON.parse refuses.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)

  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return fail('not JSON')
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail(`not a JSON object (got ${kind(data)})`)
  }
  const obj = data as Obj
  const type = obj._type
  if (type === undefined) return fail('no _type')
  if (typeof type !== 'string') return fail(`_type must be a string (got ${kind(type)})`)
  const p = PLANS.get(type)
  if (p === undefined) return fail(`unknown _type ${quote(type)}`)

  const normalised: string[] = []
  normalise(obj, p, '', normalised)
  if (p.type === 'waypoints' && Array.isArray(obj.waypoints)) {
    const items: unknown[] = obj.waypoints
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      if (isObject(item)) normalise(item, WAYPOINT_ITEM, `waypoints[${i}].`, normalised)
    }
  }

  // Nearly every payload is a plain location: accept it without zod's pass (several times the cost).
  if (fast && p.type === 'location' && plainLocation(obj)) return { ok: true, message: obj as OwnTracksMessage, normalised }
  const result = p.schema.safeParse(obj)
  if (!result.success) return fail(reason(p.type, result.error.issues[0], obj))
  return { ok: true, message: obj as OwnTracksMessage, normalised }
}

/** For messages of any origin (decoded, read back from the store, built by hand). */
export function isLocation(m: unknown): m is Location {
  if (!isObject(m)) return false
  return m._type === 'location' && typeof m.lat === 'number' && typeof m.lon === 'number' &&
    typeof m.tst === 'number'
}

function plan(type: OwnTracksType, schema: z.ZodObject): Plan {
  const numeric: string[] = []
  for (const [key, field] of Object.entries(schema.shape)) {
    const inner = field instanceof z.ZodOptional ? field.unwrap() : field
    if (inner instanceof z.ZodNumber) numeric.push(key)
  }
  return { type, schema, numeric, epochs: epochFields[type] ?? [] }
}

function normalise(obj: Obj, p: Plan, prefix: string, out: string[]): void {
  for (const key of p.numeric) {
    const v = obj[key]
    if (typeof v === 'string' && v.length <= MAX_NUMERIC_STRING && NUMERIC.test(v)) {
      const n = Number(v)
      if (Number.isFinite(n)) {
        obj[key] = n
        out.push(`${prefix}${key}: string to number`)
      }
    }
  }
  for (const key of p.epochs) {
    const v = obj[key]
    if (typeof v !== 'number' || !Number.isFinite(v)) continue
    if (v > MS_THRESHOLD) {
      obj[key] = Math.floor(v / 1000)
      out.push(`${prefix}${key}: milliseconds to seconds`)
    } else if (!Number.isInteger(v)) {
      obj[key] = Math.floor(v)
      out.push(`${prefix}${key}: fraction of a second dropped`)
    }
  }
}

function reason(type: string, issue: z.core.$ZodIssue | undefined, obj: Obj): string {
  if (issue === undefined) return `${type}: invalid`
  const path = formatPath(issue.path)
  const value = valueAt(obj, issue.path)
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `${type}: ${path} missing${WHY_REQUIRED[`${type}.${path}`] ?? ''}`
      // JSON.parse turns 1e400 into Infinity, which is a number to typeof but not to zod.
      if (issue.expected === 'number' && typeof value === 'number') {
        return `${type}: ${path} ${value} is not a finite number`
      }
      return `${type}: ${path} must be ${article(issue.expected)} (got ${kind(value)})`
    case 'invalid_value':
      // The allowed values, not the value sent: that could be any text.
      return `${type}: ${path} must be ${issue.values.map((v) => `'${String(v)}'`).join(' or ')}`
    default:
      return typeof value === 'number'
        ? `${type}: ${path} ${value} ${issue.message}`
        : `${type}: ${path} ${issue.message}`
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let s = ''
  for (const k of path) {
    if (typeof k === 'number') s += `[${k}]`
    else s += s === '' ? String(k) : `.${String(k)}`
  }
  return s === '' ? 'payload' : s
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let v = obj
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined
    v = (v as Record<PropertyKey, unknown>)[k]
  }
  return v
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`
}

function kind(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

/** Enough of an unknown `_type` to recognise it in a log line, and nothing that could forge one. */
function quote(s: string): string {
  const cut = s.length > 32 ? `${s.slice(0, 32)}…` : s
  return `'${cut.replace(/[^\x20-\x7e…]/g, '?')}'`
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function fail(reason: string): DecodeResult {
  return { ok: false, reason }
}
