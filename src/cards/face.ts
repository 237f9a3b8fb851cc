import { MAX_SIDE, coverSquare, decodeImage, encodePng, imageSize } from './image.js'

/**
 * Faces are published retained and sent to every friend's phone on each connect, so they are kept small:
 * 128×128 is sharp at the size the apps draw them (40 points at 3× is 120 px) and a few tens of kB.
 */
export const FACE_SIZE = 128

/** An upload that is not a usable picture; the message says what would be accepted. */
export class FaceError extends Error {}

/** Any PNG or JPEG (a phone photo) → a square PNG of FACE_SIZE, cropped to the middle, base64 as cards carry it. */
export async function faceFromImage(bytes: Buffer): Promise<string> {
  const size = imageSize(bytes)
  if (!size) throw new FaceError('face: not a PNG or JPEG image; upload a photo in one of those formats')
  if (size.w > MAX_SIDE || size.h > MAX_SIDE || size.w < 1 || size.h < 1) {
    throw new FaceError(`face: ${size.w}×${size.h} pixels is too large; use an image of at most ${MAX_SIDE}×${MAX_SIDE}`)
  }
  let img
  try {
    img = decodeImage(bytes)
  } catch (err) {
    throw new FaceError(`face: the image cannot be read (${(err as Error).message}); upload another PNG or JPEG`)
  }
  return encodePng(coverSquare(img, FACE_SIZE)).toString('base64')
}
