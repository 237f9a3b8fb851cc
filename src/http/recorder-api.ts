import { Hono, type Context } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { HistoryStore } from '../store/types.js'
import type { Env } from './auth.js'
import { enrichLast, pick, timeFields } from './enrich.js'
import { ParamError, parseFields, parseLimit, parseTime } from './params.js'

export interface RecorderApiDeps {
  history: HistoryStore
  access: AccessControl
  base: string
  version: string
}

const HEADER_TWINS: Record<string, string> = { user: 'x-limit-user', device: 'x-limit-device', from: 'x-limit-from', to: 'x-limit-to' }

/** Query string, then POST form field, then the Recorder's X-Limit-* header twin. */
async function param(c: Context<Env>, name: string): Promise<string | undefined> {
  const q = c.req.query(name)
  if (q !== undefined) return q
  if (c.req.method === 'POST' && /form/.test(c.req.header('content-type') ?? '')) {
    const body = await c.req.parseBody()
    const v = body[name]
    if (typeof v === 'string') return v
  }
  const h = HEADER_TWINS[name]
  return h ? c.req.header(h) : undefined
}

/**
 * The OwnTracks Recorder's /api/0 (recorder-api.md): the same paths, parameters and shapes, but every
 * answer passes the access decisions, so a user sees only devices they may read over MQTT.
 */
export function recorderApi(d: RecorderApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  const topicOf = (user: string, device: string) => `${d.base}/${user}/${device}`
  const visible = (c: Context<Env>) => d.history.devices().flatMap((x) => {
    const view = d.access.viewOf(c.get('who'), x.user, x.device)
    return view ? [{ ...x, view }] : []
  })

  api.get('/version', (c) => c.json({ version: d.version }))

  api.on(['GET', 'POST'], '/list', async (c) => {
    const user = await param(c, 'user')
    const device = await param(c, 'device')
    const devs = visible(c)
    if (user === undefined) return c.json({ results: [...new Set(devs.map((x) => x.user))].sort() })
    const mine = devs.filter((x) => x.user === user)
    if (device === undefined) return c.json({ results: mine.map((x) => x.device).sort() })
    const dev = mine.find((x) => x.device === device)
    return c.json({ results: dev ? dev.months : [] })
  })

  api.on(['GET', 'POST'], '/last', async (c) => {
    const user = await param(c, 'user')
    const device = await param(c, 'device')
    const fields = parseFields(await param(c, 'fields'))
    const out = visible(c)
      .filter((x) => x.last && (user === undefined || x.user === user) && (device === undefined || x.device === device))
      .sort((a, b) => (a.user + '/' + a.device).localeCompare(b.user + '/' + b.device))
      .map((x) => pick(enrichLast(x.view.transform(x.last!), x.user, x.device, x.lastTopic ?? topicOf(x.user, x.device), x.card && x.view.transform(x.card)), fields))
    return c.json(out)
  })

  api.on(['GET', 'POST'], '/locations', async (c) => {
    const user = await param(c, 'user')
    const device = await param(c, 'device')
    if (!user) throw new ParamError("parameter 'user' is required")
    if (!device) throw new ParamError("parameter 'device' is required")
    const limit = parseLimit(await param(c, 'limit'))
    const fields = parseFields(await param(c, 'fields'))
    const format = (await param(c, 'format')) ?? 'json'
    if (format !== 'json') throw new ParamError(`parameter 'format': '${format}' is not supported yet; use json`)
    const rawFrom = await param(c, 'from')
    const rawTo = await param(c, 'to')
    const now = Math.floor(Date.now() / 1000)
    const to = rawTo ? parseTime('to', rawTo, true) : now
    const from = rawFrom ? parseTime('from', rawFrom, false) : limit !== undefined ? 0 : to - 6 * 3600
    if (from > to) throw new ParamError(`parameters 'from'/'to': from (${rawFrom}) is after to (${rawTo ?? 'now'})`)
    const view = d.access.viewOf(c.get('who'), user, device)
    if (!view) return c.json({ error: `you may not read ${user}/${device}`, status: 403 }, 403)
    const since = Math.max(from, view.historyFrom)
    // A live-only view (historyFrom = Infinity) reads nothing: never hand the store an infinite key.
    const points = since > to ? (async function* () {})() : d.history.locations(user, device, { from: since, to, limit })
    return streamJson(c, points, (loc) => pick({ ...view.transform(loc), ...timeFields(Number(loc.tst)) }, fields))
  })

  return api
}

/**
 * Streams `{"data":[…],"count":N,"status":200}` so a year of points never sits in memory; the count
 * is only known at the end, so it follows the data (JSON readers do not care about key order).
 */
function streamJson(c: Context<Env>, rows: AsyncIterable<Record<string, unknown>>, map: (r: Record<string, unknown>) => unknown): Response {
  const enc = new TextEncoder()
  const it = rows[Symbol.asyncIterator]()
  let count = 0
  let started = false
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      let chunk = started ? '' : '{"data":['
      started = true
      for (let i = 0; i < 512; i++) {
        const r = await it.next()
        if (r.done) {
          ctrl.enqueue(enc.encode(chunk + `],"count":${count},"status":200}`))
          ctrl.close()
          return
        }
        chunk += (count++ ? ',' : '') + JSON.stringify(map(r.value))
      }
      ctrl.enqueue(enc.encode(chunk))
    },
    async cancel() { await it.return?.() },
  })
  return c.body(body, 200, { 'content-type': 'application/json; charset=utf-8' })
}
