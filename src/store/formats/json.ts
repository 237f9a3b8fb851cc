import { pick } from '../enrich.js'
import type { Format } from './types.js'

/**
 * The Recorder's `{"count":N,"data":[…],"status":200}`. The count is known only at the end, so it
 * follows the data; JSON readers (the Frontend reads `.data`) do not care about key order.
 */
export const json: Format = {
  contentType: 'application/json; charset=utf-8',
  open: () => '{"data":[',
  point: (p, n, t) => (n ? ',' : '') + JSON.stringify(pick(p, t.fields)),
  spliced: (p, n, t) => (t.fields ? undefined : (n ? ',' : '') + p.json()),
  close: (n) => `],"count":${n},"status":200}`,
}
