import type { Context, MiddlewareHandler } from 'hono'
import { HttpError, answer } from './errors.js'

/**
 * 413 for a request body over `maxSize`, without holding it: a declared Content-Length over the limit is
 * refused before a byte of the body is read, and a chunked body is counted as the route reads it and
 * fails once it passes the limit. (hono's own bodyLimit buffers a chunked body up to the limit before
 * the route runs, i.e. before authentication: a few hundred anonymous peers could make the hub hold
 * max-body each.) A body nobody reads is never buffered.
 */
export function limitBody(maxSize: number): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw
    if (!raw.body) return next()
    const declared = raw.headers.get('content-length')
    if (declared !== null && !raw.headers.has('transfer-encoding')) {
      return Number(declared) > maxSize ? tooLarge(c) : next()
    }
    let size = 0
    let exceeded = false
    const counted = raw.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        size += chunk.byteLength
        if (size > maxSize) { exceeded = true; ctl.error(new Error('request body too large')) } else ctl.enqueue(chunk)
      },
    }))
    c.req.raw = new Request(raw, { body: counted, duplex: 'half' } as RequestInit)
    await next()
    if (exceeded) c.res = tooLarge(c)
  }
}

/**
 * 413, and the connection closes after it (Connection: close): the server reads and throws away what the
 * client is still sending until then, so the client gets to read the 413.
 */
export function tooLarge(c: Context): Response {
  return answer(c, new HttpError(413, 'request body too large', { headers: { Connection: 'close' } }))
}
