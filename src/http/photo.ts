import { createHash } from 'node:crypto'

const SIZE = 40
const cache = new Map<string, Buffer>()
let placeholder: Promise<Buffer> | undefined

// jimp is loaded on the first photo request: it is large, and most hubs never serve one.
const jimp = () => import('jimp')

/** The Recorder's answer when there is no face: a transparent 40×40 PNG with a black border. */
function emptyFace(): Promise<Buffer> {
  placeholder ??= jimp().then(async ({ Jimp }) => {
    const img = new Jimp({ width: SIZE, height: SIZE, color: 0x00000000 })
    for (let i = 0; i < SIZE; i++) {
      for (const [x, y] of [[i, 0], [i, SIZE - 1], [0, i], [SIZE - 1, i]]) img.setPixelColor(0x000000ff, x, y)
    }
    return img.getBuffer('image/png')
  })
  return placeholder
}

/**
 * A 40×40 PNG of a card's `face` (base64 PNG or JPEG, any size, cropped to fill), or the placeholder
 * when there is none or it is not an image. Results are kept by content, so a face is scaled once.
 */
export async function facePng(face: unknown): Promise<Buffer> {
  if (typeof face !== 'string' || face === '') return emptyFace()
  const key = createHash('sha1').update(face).digest('hex')
  const hit = cache.get(key)
  if (hit) return hit
  let png: Buffer
  try {
    const { Jimp } = await jimp()
    const img = await Jimp.read(Buffer.from(face, 'base64'))
    img.cover({ w: SIZE, h: SIZE })
    png = await img.getBuffer('image/png')
  } catch {
    return emptyFace()
  }
  if (cache.size >= 100) cache.clear()
  cache.set(key, png)
  return png
}
