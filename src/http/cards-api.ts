import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AccessControl } from '../access/access.js'
import { FaceError, faceFromImage } from '../cards/face.js'
import type { Card, Cards } from '../cards/cards.js'
import type { HistoryStore } from '../store/types.js'
import type { Env } from './auth.js'
import { checkName, ParamError } from './params.js'

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
    if (!mayRead) return c.json({ error: `you may not see ${user}'s card`, status: 403 }, 403)
    const card = d.cards.get(user)
    return card ? c.json(card) : c.json({ error: `${user} has no card; set one with PUT /api/card`, status: 404 }, 404)
  })

  const set = async (c: Context<Env>) => {
    const user = target(c)
    if (!mayChange(c, d.access, user)) return forbidden(c, user)
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
  const limit = bodyLimit({ maxSize: MAX_UPLOAD, onError: (c) => c.json({ error: `the upload is larger than ${MAX_UPLOAD / 1024 / 1024} MB; use a smaller picture`, status: 413 }, 413) })
  api.put('/card', limit, set)
  api.post('/card', limit, set)

  api.delete('/card', async (c) => {
    const user = target(c)
    if (!mayChange(c, d.access, user)) return forbidden(c, user)
    return c.json({ published: await d.cards.clear(user) })
  })

  return api
}

function mayChange(c: Context<Env>, access: AccessControl, user: string): boolean {
  const who = c.get('who')
  return user === who.user || access.isAdmin(who)
}

const forbidden = (c: Context<Env>, user: string) => c.json({ error: `you may change only your own card, not ${user}'s`, status: 403 }, 403)

async function readCardBody(c: Context<Env>): Promise<{ name?: string; image?: Buffer; tid?: string }> {
  const type = c.req.header('content-type') ?? ''
  const text = (v: unknown, field: string) => {
    if (v === undefined) return undefined
    if (typeof v !== 'string') throw new ParamError(`'${field}' must be text`)
    if (v.length > 200) throw new ParamError(`'${field}' is longer than 200 characters`)
    return v
  }
  if (/json/i.test(type)) {
    let body: Record<string, unknown>
    try {
      body = await c.req.json()
    } catch {
      throw new ParamError('the body is not JSON; send {"name": "...", "face": "<base64 PNG or JPEG>"}')
    }
    if (body.face !== undefined && typeof body.face !== 'string') throw new ParamError("'face' must be a base64 string")
    return { name: text(body.name, 'name'), tid: text(body.tid, 'tid'), image: typeof body.face === 'string' ? Buffer.from(body.face, 'base64') : undefined }
  }
  if (/multipart\/form-data|application\/x-www-form-urlencoded/i.test(type)) {
    const form = await c.req.parseBody()
    const face = form.face
    const image = face instanceof File ? Buffer.from(await face.arrayBuffer()) : typeof face === 'string' && face !== '' ? Buffer.from(face, 'base64') : undefined
    return { name: text(form.name, 'name'), tid: text(form.tid, 'tid'), image }
  }
  throw new ParamError('send the card as multipart/form-data (name, face file) or application/json')
}
