/**
 * The location schema of payloads.ts, written out by hand for the one payload every phone sends
 * every few minutes. It only says yes: a location it accepts is exactly one the schema accepts, and
 * for anything it does not accept (a wrong type, a missing field, out of range) decode.ts asks the
 * schema, which also words the reason. test/unit/decode-fast.test.ts compares the two on many payloads.
 *
 * Keep it in step with `location` in payloads.ts: a field added there and not here is only checked on
 * the slow path, a field checked here and not there would refuse what the schema accepts.
 */

type Obj = Record<string, unknown>

const DAY_S = 86_400
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const optNumber = (v: unknown) => v === undefined || finite(v)
const optString = (v: unknown) => v === undefined || typeof v === 'string'
function optStrings(v: unknown): boolean {
  if (v === undefined) return true
  if (!Array.isArray(v)) return false
  for (const s of v) if (typeof s !== 'string') return false
  return true
}

/**
 * True when the schema would accept `m` as it stands (after decode.ts normalised it). Each field is
 * read by name, not in a loop over names: that is what makes it cheaper than the schema.
 */
export function plainLocation(m: Obj): boolean {
  const { lat, lon, tst, created_at } = m
  if (!finite(lat) || lat < -90 || lat > 90) return false
  if (!finite(lon) || lon < -180 || lon > 180) return false
  if (!finite(tst) || tst < 0 || tst > Date.now() / 1000 + DAY_S) return false
  if (created_at !== undefined && (!finite(created_at) || created_at < 0)) return false
  return optNumber(m.acc) && optNumber(m.alt) && optNumber(m.vac) && optNumber(m.vel) && optNumber(m.cog) &&
    optNumber(m.batt) && optNumber(m.bs) && optNumber(m.p) && optNumber(m.rad) &&
    optString(m.tid) && optString(m.t) && optString(m.conn) && optString(m.SSID) && optString(m.BSSID) && optString(m.topic) &&
    optStrings(m.inregions) && optStrings(m.inrids)
}
