/**
 * Faces are published retained and sent to every friend's phone on each connect, so they are kept small:
 * 128×128 is sharp at the size the apps draw them (40 points at 3× is 120 px) and a few tens of kB.
 */
export const FACE_SIZE = 128
/** Larger images are refused before decoding: a small file may declare a huge picture. */
const MAX_SIDE = 8000

/** An upload that is not a usable picture; the message says what would be accepted. */
export class FaceError extends Error {}

/** Any PNG or JPEG (a phone photo) → a square PNG of FACE_SIZE, cropped to the middle, base64 as cards carry it. */
export async function faceFromImage(bytes: Buffer): Promise<string> {
  const size = imageSize(bytes)
  if (!size) throw new FaceError('face: not a PNG or JPEG image; upload a photo in one of those formats')
  if (size.w > MAX_SIDE || size.h > MAX_SIDE || size.w < 1 || size.h < 1) {
    throw new FaceError(`face: ${size.w}×${size.h} pixels is too large; use an image of at most ${MAX_SIDE}×${MAX_SIDE}`)
  }
  // Loaded on first use: jimp alone is ~30 MB of the idle hub's memory, and most hubs never see a face.
  const { Jimp } = await import('jimp')
  let img
  try {
    img = await Jimp.read(bytes)
  } catch (err) {
    throw new FaceError(`face: the image cannot be read (${(err as Error).message}); upload another PNG or JPEG`)
  }
  img.cover({ w: FACE_SIZE, h: FACE_SIZE })
  return (await img.getBuffer('image/png')).toString('base64')
}

/** Width and height from the PNG header or the JPEG frame header, without decoding pixels. */
function imageSize(b: Buffer): { w: number; h: number } | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
    return { w: b.readUInt32BE(16), h: b.readUInt32BE(20) }
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined
  let i = 2
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined
    const marker = b[i + 1]
    const len = b.readUInt16BE(i + 2)
    // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { h: b.readUInt16BE(i + 5), w: b.readUInt16BE(i + 7) }
    }
    i += 2 + len
  }
  return undefined
}
