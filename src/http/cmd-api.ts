import { Hono } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { CommandQueue } from '../cmd-queue.js'
import type { Logger } from '../log.js'
import { decodePayload } from '../owntracks/decode.js'
import { deviceTopic, parseDeviceTopic } from '../owntracks/topics.js'
import type { HistoryStore } from '../store/types.js'
import type { Env } from './auth.js'
import { nameParam, ParamError } from './params.js'
import type { Publish } from '../mqtt/publish.js'
import { HttpError } from './errors.js'

export interface CmdApiDeps {
  access: AccessControl
  commands: CommandQueue
  publish: Publish
  base: string
  log: Logger
  history: HistoryStore
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The `cmd` actions the apps obey (booklet: docs/tech/json.md, _type=cmd) and what each needs.
 * A check returns a problem, or undefined when the command is complete.
 */
const ACTIONS: Record<string, (c: Obj) => string | undefined> = {
  reportLocation: () => undefined,
  dump: () => undefined,
  status: () => undefined,
  waypoints: () => undefined,
  clearWaypoints: () => undefined,
  reportSteps: (c) => (['from', 'to'].some((k) => c[k] !== undefined && typeof c[k] !== 'number') ? "'from' and 'to' are epoch seconds" : undefined),
  setWaypoints: (c) => (isObj(c.waypoints) && Array.isArray(c.waypoints.waypoints) ? undefined : "needs 'waypoints': {\"_type\":\"waypoints\",\"waypoints\":[…]} (or just the list)"),
  setConfiguration: (c) => (isObj(c.configuration) ? undefined : "needs 'configuration': {\"_type\":\"configuration\", …settings}"),
  action: (c) => (['content', 'url', 'notification', 'extern'].some((k) => typeof c[k] === 'string') ? undefined : "needs one of 'content', 'url', 'notification' or 'extern'"),
}


/**
 * POST /api/0/cmd?user=U&device=D with a `cmd` message as the JSON body: sends it to the device both
 * ways it may listen — published on `<base>/U/D/cmd` (QoS 1) for a phone in MQTT mode, and queued
 * for the answer to its next POST /pub in HTTP mode, where it is delivered once. The caller needs
 * write access to that cmd topic, as an MQTT client publishing it would.
 */
export function cmdApi(d: CmdApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  api.post('/cmd', async (c) => {
    const who = c.get('who')
    const user = await nameParam(c, 'user')
    const device = await nameParam(c, 'device')
    if (!user) throw new ParamError("parameter 'user' is required")
    if (!device) throw new ParamError("parameter 'device' is required")
    const topic = deviceTopic(user, device, 'cmd', d.base)
    if (!parseDeviceTopic(topic, d.base)) throw new ParamError(`parameters 'user'/'device': '${user}/${device}' cannot name a device`)
    if (!d.access.canWrite(who, topic)) throw new HttpError(403, `you may not send commands to ${user}/${device} (${topic})`)
    const body = Buffer.from(await c.req.arrayBuffer())
    const res = decodePayload(body)
    if (!res.ok) throw new ParamError(`body: ${res.reason}`)
    if (res.message._type !== 'cmd') throw new ParamError(`body: expected a message with _type 'cmd', got '${res.message._type}'`)
    const cmd: Obj = res.message
    const check = typeof cmd.action === 'string' ? ACTIONS[cmd.action] : undefined
    if (!check) throw new ParamError(`'action' must be one of ${Object.keys(ACTIONS).join(', ')}`)
    if (cmd.action === 'setWaypoints' && Array.isArray(cmd.waypoints)) cmd.waypoints = { _type: 'waypoints', waypoints: cmd.waypoints }
    const problem = check(cmd)
    if (problem) throw new ParamError(`action ${String(cmd.action)}: ${problem}`)
    if (!d.history.device(user, device)) throw new HttpError(404, `no device ${user}/${device} has reported yet`)
    d.commands.enqueue(user, device, res.message)
    await d.publish({ topic, payload: Buffer.from(JSON.stringify(res.message)), qos: 1, retain: false }, `http:${who.user ?? '-'}`)
    d.log.info(`Queued cmd '${String(res.message.action)}' for ${user}/${device} from ${who.user ?? who.clientId}`)
    return c.json({ status: 200, topic, queued: true })
  })
  return api
}
