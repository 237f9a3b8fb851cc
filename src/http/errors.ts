import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/**
 * An answer that is not a success, thrown from anywhere in a route and rendered by the app's error handler
 * (app.ts): JSON `{"error": message, "status": status}`, or the message as plain text where the Recorder
 * answers in plain text (`plain`). The message says what went wrong and what to do instead.
 */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly o: { plain?: boolean; headers?: Record<string, string> } = {},
  ) { super(message) }
}

/** The answer an HttpError asks for (the app's error handler and its not-found answer use it). */
export function answer(c: Context, err: HttpError): Response {
  return err.o.plain
    ? c.text(`${err.message}\n`, err.status, err.o.headers)
    : c.json({ error: err.message, status: err.status }, err.status, err.o.headers)
}
