import type { Context } from 'hono'
import { FORMATS, formatByName, type Format } from '../store/formats/index.js'
import type { LocationsQuery } from '../store/viewer-history.js'
import { parseTime } from '../owntracks/time.js'
import { nameParam, ParamError, parseFields, parseLimit, requestParam } from './params.js'

export function formatNamed(name: string): Format {
  const f = formatByName(name)
  if (!f) throw new ParamError(`parameter 'format': '${name}' is not one of ${Object.keys(FORMATS).join(', ')}`)
  return f
}

/**
 * The Recorder's `locations` parameters. Without `from`/`to` the window is the last 6 hours; with
 * `limit` (the newest N) it is all history unless `from` says otherwise.
 */
export async function locationsQuery(c: Context, now = Math.floor(Date.now() / 1000)): Promise<LocationsQuery> {
  const user = await nameParam(c, 'user')
  const device = await nameParam(c, 'device')
  if (!user) throw new ParamError("parameter 'user' is required")
  if (!device) throw new ParamError("parameter 'device' is required")
  const limit = parseLimit(await requestParam(c, 'limit'))
  const fields = parseFields(await requestParam(c, 'fields'))
  const format = formatNamed((await requestParam(c, 'format')) || 'json')
  const rawFrom = await requestParam(c, 'from')
  const rawTo = await requestParam(c, 'to')
  const to = rawTo ? parseTime('to', rawTo, true) : now
  const from = rawFrom ? parseTime('from', rawFrom, false) : limit !== undefined ? 0 : to - 6 * 3600
  if (from > to) throw new ParamError(`parameters 'from'/'to': from (${rawFrom}) is after to (${rawTo ?? 'now'})`)
  return { user, device, from, to, limit, fields, format }
}
