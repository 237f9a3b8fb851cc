import type { Context } from 'hono'
import { z } from 'zod'
import { HttpError } from './errors.js'

/**
 * The request's JSON body checked against `schema`, or a 400 that names the first field that is wrong
 * (`admin: must be true or false`, `colour: unknown field (send name, password, admin)`) or says what to
 * send (`what`, e.g. 'the share as a JSON object').
 */
export async function jsonBody<T>(c: Context, schema: z.ZodType<T>, what = 'a JSON object'): Promise<T> {
  let raw: unknown
  try { raw = await c.req.json() } catch { throw new HttpError(400, `send ${what} (Content-Type: application/json)`) }
  return valid(schema, raw, `send ${what} (Content-Type: application/json)`)
}

/** `raw` (a parsed body, form fields) checked against `schema`, or a 400 as jsonBody's. */
export function valid<T>(schema: z.ZodType<T>, raw: unknown, send: string): T {
  const r = schema.safeParse(raw)
  if (r.success) return r.data
  const i = r.error.issues[0]
  if (!i) throw new HttpError(400, send)
  if (i.code === 'unrecognized_keys') {
    const known = schema instanceof z.ZodObject ? ` (send ${Object.keys(schema.shape).join(', ')})` : ''
    throw new HttpError(400, `${[...i.path, i.keys[0]].join('.')}: unknown field${known}`)
  }
  throw new HttpError(400, `${i.path.join('.') || 'body'}: ${i.message}`)
}
