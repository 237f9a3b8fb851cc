import { createHash } from 'node:crypto'
import { blank, coverSquare, decodeImage, encodePng, setPixel } from '../cards/image.js'

const SIZE = 40
const cache = new Map<string, Buffer>()
let placeholder: Buffer | undefined

/** The Recorder's answer when there is no face: a transparent 40×40 PNG with a black border. */
function emptyFace(): Buffer {
  if (!placeholder) {
    const img = blank(SIZE, SIZE)
    for (let i = 0; i < SIZE; i++) {
      for (const [x, y] of [[i, 0], [i, SIZE - 1], [0, i], [SIZE - 1, i]]) setPixel(img, x, y, 0x000000ff)
    }
    placeholder = encodePng(img)
  }
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
    png = encodePng(coverSquare(decodeImage(Buffer.from(face, 'base64')), SIZE))
  } catch {
    return emptyFace()
  }
  if (cache.size >= 100) cache.clear()
  cache.set(key, png)
  return png
}
