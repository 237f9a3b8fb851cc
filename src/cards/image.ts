import { createRequire } from 'node:module'

// The codecs load on the first image (a card face, a photo): a hub that never sees one never holds them.
type Png = typeof import('pngjs')
type Jpeg = typeof import('jpeg-js')
let codecs: { png: Png; jpeg: Jpeg } | undefined
function load(): { png: Png; jpeg: Jpeg } {
  const require = createRequire(import.meta.url)
  return (codecs ??= { png: require('pngjs') as Png, jpeg: require('jpeg-js') as Jpeg })
}

/*
 * The little image work cards need — decode a PNG or JPEG, turn it upright, crop the middle square and
 * scale it, encode a PNG — on the pure-JS codecs (pngjs, jpeg-js). An image library would bring some
 * 90 MB of plugins for these four steps.
 */

/** RGBA pixels, 4 bytes each, row by row. */
export interface Bitmap { width: number; height: number; data: Uint8Array }

/** Larger images are refused before decoding: a small file may declare a huge picture. */
export const MAX_SIDE = 8000

/** Decodes a PNG or JPEG; throws with the codec's reason when the bytes are not one or it is too large. */
export function decodeImage(bytes: Buffer): Bitmap {
  const size = imageSize(bytes)
  if (size && (size.w > MAX_SIDE || size.h > MAX_SIDE)) throw new Error(`${size.w}×${size.h} pixels is more than ${MAX_SIDE}×${MAX_SIDE}`)
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) {
    const png = load().png.PNG.sync.read(bytes)
    return { width: png.width, height: png.height, data: png.data }
  }
  // A JPEG whose frame header could not be found above is held to these limits by the codec.
  const img = load().jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 64, maxMemoryUsageInMB: 512 })
  return upright({ width: img.width, height: img.height, data: img.data }, jpegOrientation(bytes))
}

export function encodePng(b: Bitmap): Buffer {
  const { PNG } = load().png
  const png = new PNG({ width: b.width, height: b.height })
  png.data = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)
  return PNG.sync.write(png)
}

/**
 * The middle square of `b`, scaled to size×size. Each target pixel is the average of the source pixels
 * it covers (at least the nearest one), which keeps a photo scaled down by 30× smooth.
 */
export function coverSquare(b: Bitmap, size: number): Bitmap {
  const side = Math.min(b.width, b.height)
  const left = Math.floor((b.width - side) / 2)
  const top = Math.floor((b.height - side) / 2)
  const out = new Uint8Array(size * size * 4)
  const step = side / size
  for (let y = 0; y < size; y++) {
    const y0 = top + Math.floor(y * step)
    const y1 = Math.max(y0 + 1, top + Math.floor((y + 1) * step))
    for (let x = 0; x < size; x++) {
      const x0 = left + Math.floor(x * step)
      const x1 = Math.max(x0 + 1, left + Math.floor((x + 1) * step))
      let r = 0, g = 0, bl = 0, a = 0
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const i = (sy * b.width + sx) * 4
          r += b.data[i]; g += b.data[i + 1]; bl += b.data[i + 2]; a += b.data[i + 3]
        }
      }
      const n = (y1 - y0) * (x1 - x0)
      const o = (y * size + x) * 4
      out[o] = Math.round(r / n); out[o + 1] = Math.round(g / n); out[o + 2] = Math.round(bl / n); out[o + 3] = Math.round(a / n)
    }
  }
  return { width: size, height: size, data: out }
}

/** A blank (transparent) bitmap. */
export function blank(width: number, height: number): Bitmap {
  return { width, height, data: new Uint8Array(width * height * 4) }
}

export function setPixel(b: Bitmap, x: number, y: number, rgba: number): void {
  const i = (y * b.width + x) * 4
  b.data[i] = rgba >>> 24; b.data[i + 1] = (rgba >>> 16) & 0xff; b.data[i + 2] = (rgba >>> 8) & 0xff; b.data[i + 3] = rgba & 0xff
}

/**
 * Phones store photos as the sensor saw them and say in EXIF how to turn them (tag 0x0112, 1–8):
 * without this, a portrait photo becomes a face lying on its side.
 */
function jpegOrientation(b: Buffer): number {
  let i = 2
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1]
    const len = b.readUInt16BE(i + 2)
    if (marker === 0xda) break // the image data starts: no EXIF before it
    if (marker === 0xe1 && b.toString('latin1', i + 4, i + 10) === 'Exif\0\0') return tiffOrientation(b.subarray(i + 10, i + 2 + len))
    i += 2 + len
  }
  return 1
}

function tiffOrientation(t: Buffer): number {
  if (t.length < 8) return 1
  const le = t.toString('latin1', 0, 2) === 'II'
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o))
  const ifd = le ? t.readUInt32LE(4) : t.readUInt32BE(4)
  if (ifd + 2 > t.length) return 1
  for (let n = u16(ifd), e = ifd + 2; n > 0 && e + 12 <= t.length; n--, e += 12) {
    if (u16(e) === 0x0112) { const v = u16(e + 8); return v >= 1 && v <= 8 ? v : 1 }
  }
  return 1
}

/** Applies an EXIF orientation, as the photo's viewer would (orientations 5–8 swap width and height). */
function upright(b: Bitmap, orientation: number): Bitmap {
  if (orientation === 1) return b
  const { width: w, height: h } = b
  const swap = orientation > 4
  const W = swap ? h : w
  const H = swap ? w : h
  // for each target pixel, where it comes from in the stored image
  const from: Record<number, (x: number, y: number) => [number, number]> = {
    2: (x, y) => [w - x - 1, y],
    3: (x, y) => [w - x - 1, h - y - 1],
    4: (x, y) => [x, h - y - 1],
    5: (x, y) => [y, x],
    6: (x, y) => [y, h - x - 1],
    7: (x, y) => [w - y - 1, h - x - 1],
    8: (x, y) => [w - y - 1, x],
  }
  const map = from[orientation]
  const out = new Uint8Array(W * H * 4)
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [sx, sy] = map(x, y)
      out.set(b.data.subarray((sy * w + sx) * 4, (sy * w + sx) * 4 + 4), (y * W + x) * 4)
    }
  }
  return { width: W, height: H, data: out }
}

/** Width and height from the PNG header or the JPEG frame header, without decoding pixels. */
export function imageSize(b: Buffer): { w: number; h: number } | undefined {
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
