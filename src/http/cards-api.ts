import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AccessControl } from '../access/access.js'
import { FaceError, faceFromImage } from '../cards/face.js'
import type { Card, Cards } from '../cards/cards.js'
import type { HistoryStore } from '../store/types.js'
import type { Env } from './auth.js'
import { checkName, ParamError } from './params.js'
import { z } from 'zod'
import { jsonBody, valid } from './body.js'
import { HttpError, answer } from './errors.js'

export interface CardsApiDeps {
  cards: Cards
  access: AccessControl
  history: HistoryStore
}

const MAX_UPLOAD = 8 * 1024 * 1024

/**
 * /api/card: a user's name and face as friends' phones show them.
 *   GET    /api/card[?user=U]   the card, if the caller may see one of U's devices (the sharing rules, as for locations)
 *   PUT    /api/card[?user=U]   (or POST) set it: multipart form `name` + `face` (file), or JSON {name, face: base64 image}
 *   DELETE /api/card[?user=U]   forget it
 * Setting someone else's card takes the admin role. The face may be any PNG or JPEG; it is cropped square and resized.
 */
export function cardsApi(d: CardsApiDeps): Hono<Env> {
  const api = new Hono<Env>()
  const target = (c: Context<Env>) => {
    const user = c.req.query('user')
    if (user) checkName('user', user)
    return user || c.get('who').user || ''
  }

  api.get('/card', (c) => {
    const who = c.get('who')
    const user = target(c)
    // As over MQTT: a card is seen with a share that includes the card of one of the user's devices.
    const mayRead = user === who.user || d.access.isAdmin(who) || d.history.devices().some((x) => x.user === user && d.access.canRead(who, d.access.partTopic(x.user, x.device, 'card')))
    if (!mayRead) throw new HttpError(403, `you may not see ${user}'s card`)
    const card = d.cards.get(user)
    if (!card) throw new HttpError(404, `${user} has no card; set one with PUT /api/card`)
    return c.json(card)
  })

  const set = async (c: Context<Env>) => {
    const user = target(c)
    mayChange(c, d.access, user)
    const { name, image, tid } = await readCardBody(c)
    if (name === undefined && image === undefined) throw new ParamError("give 'name' and/or 'face' (a PNG or JPEG image)")
    const old = d.cards.get(user)
    const card: Card = { _type: 'card', ...(old?.name !== undefined ? { name: old.name } : {}), ...(old?.face !== undefined ? { face: old.face } : {}), ...(old?.tid !== undefined ? { tid: old.tid } : {}) }
    if (name !== undefined) card.name = name
    if (tid !== undefined) card.tid = tid
    if (image !== undefined) {
      try {
        card.face = await faceFromImage(image)
      } catch (err) {
        if (err instanceof FaceError) throw new ParamError(err.message)
        throw err
      }
    }
    const published = await d.cards.set(user, card)
    return c.json({ card, published })
  }
  const limit = bodyLimit({ maxSize: MAX_UPLOAD, onError: (c) => answer(c, new HttpError(413, `the upload is larger than ${MAX_UPLOAD / 1024 / 1024} MB; use a smaller picture`)) })
  api.put('/card', limit, set)
  api.post('/card', limit, set)

  api.delete('/card', async (c) => {
    const user = target(c)
    mayChange(c, d.access, user)
    return c.json({ published: await d.cards.clear(user) })
  })

  return api
}

/** Setting someone else's card takes the admin role. */
function mayChange(c: Context<Env>, access: AccessControl, user: string): void {
  const who = c.get('who')
  if (user !== who.user && !access.isAdmin(who)) throw new HttpError(403, `you may change only your own card, not ${user}'s`)
}

const text = z.string({ error: 'must be text' }).max(200, { error: 'is longer than 200 characters' })
const CardJson = z.object({ name: text.optional(), tid: text.optional(), face: z.string({ error: 'must be a base64 string (a PNG or JPEG image)' }).optional() })
const CardForm = z.object({ name: text.optional(), tid: text.optional() })

async function readCardBody(c: Context<Env>): Promise<{ name?: string; image?: Buffer; tid?: string }> {
  const type = c.req.header('content-type') ?? ''
  if (/json/i.test(type)) {
    const body = await jsonBody(c, CardJson, '{"name": "...", "face": "<base64 PNG or JPEG>"}')
    return { name: body.name, tid: body.tid, image: body.face === undefined ? undefined : Buffer.from(body.face, 'base64') }
  }
  if (/multipart\/form-data|application\/x-www-form-urlencoded/i.test(type)) {
    const form = await c.req.parseBody()
    const { name, tid } = valid(CardForm, form, 'send the fields name and face (a file)')
    const face = form.face
    const image = face instanceof File ? Buffer.from(await face.arrayBuffer()) : typeof face === 'string' && face !== '' ? Buffer.from(face, 'base64') : undefined
    return { name, tid, image }
  }
  throw new ParamError('send the card as multipart/form-data (name, face file) or application/json')
}
