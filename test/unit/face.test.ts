import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import jpeg from 'jpeg-js'
import { FaceError, faceFromImage } from '../../src/cards/face.js'
import { readPicture, solidPng } from '../helpers/images.js'

/** A 640×480 camera JPEG, red on the left half and blue on the right, with an EXIF orientation tag. */
function photo(orientation?: number): Buffer {
  const width = 640
  const height = 480
  const data = Buffer.alloc(width * height * 4)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.writeUInt32BE(x < width / 2 ? 0xff0000ff : 0x0000ffff, (y * width + x) * 4)
  // "Exif\0\0", then a big-endian TIFF header whose first IFD holds one entry: Orientation (0x0112), SHORT
  const exif = orientation === undefined ? undefined : Buffer.from([
    0x45, 0x78, 0x69, 0x66, 0, 0, 0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8,
    0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0,
  ])
  return jpeg.encode({ width, height, data, exifBuffer: exif } as Parameters<typeof jpeg.encode>[0], 95).data
}

const colour = (rgba: number) => (rgba >>> 24 > 200 && ((rgba >>> 8) & 0xff) < 60 ? 'red' : ((rgba >>> 8) & 0xff) > 200 && rgba >>> 24 < 60 ? 'blue' : `0x${rgba.toString(16)}`)

describe('card faces: any PNG or JPEG becomes a 128×128 PNG of its middle', () => {
  test('a landscape photo keeps its middle square: red left, blue right', async () => {
    const face = readPicture(Buffer.from(await faceFromImage(photo()), 'base64'))
    assert.deepEqual([face.width, face.height, face.mime], [128, 128, 'image/png'])
    assert.deepEqual([colour(face.at(10, 64)), colour(face.at(117, 64))], ['red', 'blue'])
  })

  test('a photo the phone stored sideways (EXIF orientation 6) is turned upright first', async () => {
    const face = readPicture(Buffer.from(await faceFromImage(photo(6)), 'base64'))
    assert.deepEqual([face.width, face.height], [128, 128])
    // turned 90° clockwise: what was the left half is now the top
    assert.deepEqual([colour(face.at(64, 10)), colour(face.at(64, 117))], ['red', 'blue'])
  })

  test('a small PNG is scaled up; a picture declaring more than 8000 pixels a side is refused unread', async () => {
    const face = readPicture(Buffer.from(await faceFromImage(solidPng(16, 16, 0x00ff00ff)), 'base64'))
    assert.deepEqual([face.width, face.height, face.at(127, 127)], [128, 128, 0x00ff00ff])
    const huge = solidPng(1, 1, 0xffffffff)
    huge.writeUInt32BE(100_000, 16) // the IHDR width
    await assert.rejects(faceFromImage(huge), (e: Error) => e instanceof FaceError && /100000×1 pixels is too large/.test(e.message))
  })
})
