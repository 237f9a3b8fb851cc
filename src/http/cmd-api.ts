import { Hono } from 'hono'
import type { AccessControl } from '../access/access.js'
import type { CommandQueue } from '../cmd-queue.js'
import type { Logger } from '../log.js'
import { decodePayload } from '../owntracks/decode.js'
import { deviceTopic, parseDeviceTopic } from '../owntracks/topics.js'
import type { Env } from './auth.js'
import { crossSiteReason } from './cross-site.js'
import { ParamError, requestParam } from './params.js'
import type { Publish } from './pub.js'

export interface CmdApiDeps {
  access: AccessControl
  commands: CommandQueue
  publish: Publish
  base: string
  log: Logger
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
    const user = await requestParam(c, 'user')
    const device = await requestParam(c, 'device')
    if (!user) throw new ParamError("parameter 'user' is required")
    if (!device) throw new ParamError("parameter 'device' is required")
    const topic = deviceTopic(user, device, 'cmd', d.base)
    if (!parseDeviceTopic(topic, d.base)) throw new ParamError(`parameters 'user'/'device': '${user}/${device}' cannot name a device`)
    const why = crossSiteReason((n) => c.req.header(n))
    if (why) return c.json({ error: `refused: ${why}`, status: 403 }, 403)
    if (!d.access.canWrite(who, topic)) return c.json({ error: `you may not send commands to ${user}/${device} (${topic})`, status: 403 }, 403)
    const body = Buffer.from(await c.req.arrayBuffer())
    const res = decodePayload(body)
    if (!res.ok) throw new ParamError(`body: ${res.reason}`)
    if (res.message._type !== 'cmd') throw new ParamError(`body: expected a message with _type 'cmd', got '${res.message._type}'`)
    d.commands.enqueue(user, device, res.message)
    await d.publish(topic, body, false)
    d.log.info(`Queued cmd '${String(res.message.action)}' for ${user}/${device} from ${who.user ?? who.clientId}`)
    return c.json({ status: 200, topic, queued: true })
  })
  return api
}
