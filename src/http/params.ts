import type { Context } from 'hono'
import { nameProblem } from '../owntracks/names.js'
import { HttpError } from './errors.js'

/** A bad request parameter (400); the message names it and says what would be accepted. */
export class ParamError extends HttpError {
  constructor(message: string) { super(400, message) }
}

export function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 10_000_000) {
    throw new ParamError(`parameter 'limit': '${raw}' is not a whole number from 1 to 10000000`)
  }
  return Number(raw)
}

export function parseFields(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw === '') return undefined
  const f = raw.split(',').map((x) => x.trim()).filter(Boolean)
  if (f.length === 0) throw new ParamError(`parameter 'fields': give a comma-separated list of field names`)
  return f
}

const HEADER_TWINS: Record<string, string> = { user: 'x-limit-user', device: 'x-limit-device', from: 'x-limit-from', to: 'x-limit-to' }

/** A Recorder API parameter: query string, then POST form field, then the X-Limit-* header twin. */
export async function requestParam(c: Context, name: string): Promise<string | undefined> {
  const q = c.req.query(name)
  if (q !== undefined) return q
  if (c.req.method === 'POST' && /form/.test(c.req.header('content-type') ?? '')) {
    const v = (await c.req.parseBody())[name]
    if (typeof v === 'string') return v
  }
  const h = HEADER_TWINS[name]
  return h ? c.req.header(h) : undefined
}

/**
 * A user or device parameter (query, form field or header twin), checked at the edge: undefined when
 * absent, else a name names.ts accepts, or a ParamError (400) saying what is wrong with it.
 */
export async function nameParam(c: Context, name: 'user' | 'device'): Promise<string | undefined> {
  const v = await requestParam(c, name)
  if (v === undefined) return undefined
  checkName(name, v)
  return v
}

/** Throws a ParamError (400) when `value` cannot be a user or device name. */
export function checkName(param: string, value: string): void {
  const why = nameProblem(value)
  if (why) throw new ParamError(`parameter '${param}' ${why}; user and device names are 1 to 64 characters without '/', '+', '#' or control characters`)
}

/** A number parameter within [min, max], or a ParamError naming it. */
export function parseNumber(name: string, raw: string | undefined, min: number, max: number): number {
  const n = raw === undefined || raw.trim() === '' ? NaN : Number(raw)
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ParamError(`parameter '${name}': ${raw === undefined ? 'missing' : `'${raw}' is not`} a number from ${min} to ${max}`)
  }
  return n
}
