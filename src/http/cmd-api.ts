import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AccessControl } from '../access/access.js'
import type { HubPublish } from '../cards/cards.js'
import type { CommandQueue } from '../cmd-queue.js'
import { deviceTopic } from '../owntracks/topics.js'
import type { OwnTracksMessage } from '../owntracks/types.js'
import type { HistoryStore } from '../store/types.js'
import type { Env } from './auth.js'
import { ParamError } from './params.js'

export interface CmdApiDeps {
  access: AccessControl
  history: HistoryStore
  commands: CommandQueue
  publish: HubPublish
  base: string
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
 * POST /api/0/cmd?user=U&device=D with the `cmd` as the JSON body ({"_type":"cmd","action":"reportLocation"}):
 * sends a command to a device the caller may command, i.e. may write `<base>/U/D/cmd` (their own devices;
 * others through an acl rule; admins all). Published at QoS 1, not retained, for a phone on MQTT, and
 * queued for one in HTTP mode, which gets it with the answer to its next POST /pub. The hub cannot know
 * which mode the phone is in, so both.
 */
export function cmdApi(d: CmdApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  // setConfiguration and setWaypoints carry the most; a megabyte is far beyond either.
  const limit = bodyLimit({ maxSize: 1024 * 1024, onError: (c) => c.json({ error: 'a command is at most 1 MB', status: 413 }, 413) })
  api.post('/cmd', limit, async (c) => {
    const user = c.req.query('user')
    const device = c.req.query('device')
    if (!user) throw new ParamError("parameter 'user' is required: whose device")
    if (!device) throw new ParamError("parameter 'device' is required")
    let cmd: Obj
    try {
      const parsed: unknown = await c.req.json()
      if (!isObj(parsed)) throw new Error()
      cmd = parsed
    } catch {
      throw new ParamError('body: send the command as JSON, e.g. {"_type":"cmd","action":"reportLocation"}')
    }
    if (cmd._type !== 'cmd') throw new ParamError(`body: expected a message with _type 'cmd', got ${JSON.stringify(cmd._type ?? null)}`)
    const action = cmd.action
    const check = typeof action === 'string' ? ACTIONS[action] : undefined
    if (!check) throw new ParamError(`'action' must be one of ${Object.keys(ACTIONS).join(', ')}`)
    if (action === 'setWaypoints' && Array.isArray(cmd.waypoints)) cmd.waypoints = { _type: 'waypoints', waypoints: cmd.waypoints }
    const problem = check(cmd)
    if (problem) throw new ParamError(`action ${action}: ${problem}`)

    const topic = deviceTopic(user, device, 'cmd', d.base)
    if (!d.access.canWrite(c.get('who'), topic)) return c.json({ error: `you may not send commands to ${user}/${device}`, status: 403 }, 403)
    if (!d.history.device(user, device)) return c.json({ error: `no device ${user}/${device} has reported yet`, status: 404 }, 404)

    await d.publish({ topic, payload: Buffer.from(JSON.stringify(cmd)), qos: 1, retain: false }, `http:${c.get('who').user ?? 'anonymous'}`)
    d.commands.enqueue(user, device, cmd as OwnTracksMessage)
    return c.json({ status: 200, topic, queued: true })
  })
  return api
}
