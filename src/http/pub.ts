import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AccessControl, Identity } from '../access/access.js'
import type { CommandQueue } from '../cmd-queue.js'
import type { Tours } from '../tours/tours.js'
import type { Logger } from '../log.js'
import type { Publish } from '../mqtt/publish.js'
import { deviceTopic, parseDeviceTopic, subtopicForType } from '../owntracks/topics.js'
import type { OwnTracksType } from '../owntracks/types.js'
import type { HistoryStore } from '../store/types.js'
import type { UserRegistry } from '../users/registry.js'
import type { Env } from './auth.js'
import { HttpError, answer } from './errors.js'
import { seenDevices } from './visible.js'

export interface HttpModeDeps {
  users: UserRegistry
  access: AccessControl
  history: HistoryStore
  commands: CommandQueue
  publish: Publish
  base: string
  log: Logger
  /** Answers `request` messages (tours); without it they are stored and published only. */
  tours?: Pick<Tours, 'handleRequest'>
}

/** Phones post one message at a time; a card with a large face is the biggest. */
const MAX_BODY = 4 * 1024 * 1024

/**
 * HTTP mode (booklet tech/http.md): the app POSTs each message it would have published, and reads
 * the answer as if it had arrived over MQTT. The message goes the MQTT way — access check, decode
 * and store, then into the broker on the device's topic so MQTT friends see it — and the answer
 * carries what an MQTT subscription would have brought: friends' locations and cards, and the
 * commands queued for this device.
 *
 * The app treats any answer as delivered and does not retry, so every refusal is logged here.
 */
export function httpMode(d: HttpModeDeps): Hono<Env> {
  const app = new Hono<Env>()

  app.post('/', bodyLimit({ maxSize: MAX_BODY, onError: (c) => answer(c, refusal(c, d.log, 413, `body larger than ${MAX_BODY} bytes`)) }), async (c) => {
    const who = c.get('who')
    // The Recorder's ways to name the device: headers from the app, or ?u=&d= in the URL.
    const user = c.req.header('x-limit-u') || c.req.query('u') || who.user || ''
    const device = c.req.header('x-limit-d') || c.req.query('d') || ''
    const refused = (status: 400 | 403, why: string): never => { throw refusal(c, d.log, status, why, user, device) }
    if (!device) return refused(400, "no device given: set the app's Device ID (sent as X-Limit-D) or add ?d=DEVICE to the URL")
    if (!parseDeviceTopic(deviceTopic(user, device, '', d.base), d.base)) return refused(400, `'${user}/${device}' cannot name a device: user and device names are 1 to 64 characters without '/', '+', '#' or control characters`)
    if (user !== who.user && !d.access.isAdmin(who)) return refused(403, `authenticated as '${who.user}', not '${user}': only admins may post for others`)

    const payload = Buffer.from(await c.req.arrayBuffer())
    const type = typeOf(payload)
    if ('error' in type) return refused(400, type.error)
    const topic = deviceTopic(user, device, type.subtopic, d.base)
    if (!d.access.canWrite(who, topic)) return refused(403, `may not publish to '${topic}'`)

    // Like an MQTT publish: stored first (a failure answers 500 and nothing is published), and a
    // payload decode rejects is logged by ingest and still delivered unchanged.
    const outcome = await d.publish({ topic, payload, qos: 1, retain: type.type === 'location' }, `http:${who.user ?? '-'}`)
    if (outcome.kind === 'refused') return refused(403, outcome.reason)

    const owner: Identity = user === who.user ? who : { user, admin: false, clientId: `http:${user}${device}` }
    // A tour request (booklet features/tours.md) is answered in this reply, as MQTT answers it on …/cmd.
    const answer = type.type === 'request' && d.tours ? await d.tours.handleRequest(user, device, JSON.parse(payload.toString('utf8')) as Record<string, unknown>) : null
    return c.json([...friends(d, owner, user, device), ...d.commands.take(user, device), ...(answer ? [answer] : [])])
  })

  return app
}

/** The app does not retry a refused post, so each refusal is logged here before it is answered. */
function refusal(c: Context, log: HttpModeDeps['log'], status: 400 | 403 | 413, why: string, user?: string, device?: string): HttpError {
  const as = user !== undefined ? ` for ${user || '?'}/${device || '?'}` : ''
  log.warn(`HTTP mode: refused POST ${c.req.path}${as} from ${c.get('who')?.user ?? '?'}: ${why}`)
  return new HttpError(status, why)
}

/**
 * The `_type` decides the topic (the app names none in HTTP mode). Only the type is read here;
 * the full check is the decoder's, as for MQTT. Reasons never quote the payload.
 */
function typeOf(payload: Buffer): { type: string; subtopic: string } | { error: string } {
  let obj: unknown
  try {
    obj = JSON.parse(payload.toString('utf8').replace(/^\uFEFF/, ''))
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message)
    return { error: `body is not valid JSON${at ? ` (error at character ${at[1]})` : ''}` }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { error: `body is JSON but not an object (got ${Array.isArray(obj) ? 'array' : obj === null ? 'null' : typeof obj})` }
  const type = (obj as Record<string, unknown>)._type
  if (typeof type !== 'string') return { error: 'no _type in the message' }
  // A lookup table answers 'constructor' or 'toString' too: only a string is a subtopic.
  const subtopic: unknown = subtopicForType(type as OwnTracksType)
  if (typeof subtopic !== 'string') return { error: `unknown _type '${type.slice(0, 32).replace(/[^\x20-\x7e]/g, '?')}'` }
  return { type, subtopic }
}

/**
 * The newest location and the card of every other device the owner may see, each as access.present()
 * shows it over MQTT (a card only with a share that includes it).
 * The apps key friends by `topic` (or by `tid` when there is none), so both are always set, and a
 * card comes before its location so the friend has a name when it appears.
 */
function friends(d: HttpModeDeps, owner: Identity, user: string, device: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const x of seenDevices(d.access, d.history, owner)) {
    if (x.user === user && x.device === device) continue
    const topic = deviceTopic(x.user, x.device, '', d.base)
    const tid = (x.last?.tid ?? x.card?.tid ?? x.device.slice(-2)) as string
    if (x.card) out.push({ ...x.card, _type: 'card', tid, topic })
    // A presence-only friend who is away has no coordinates: the apps cannot show a location without them.
    if (x.last && typeof x.last.lat === 'number') out.push({ ...x.last, _type: 'location', tid, topic: x.lastTopic })
  }
  return out
}
