import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'

/** A width×height PNG of one colour (0xRRGGBBAA). */
export function solidPng(width: number, height: number, rgba: number): Buffer {
  const png = new PNG({ width, height })
  for (let i = 0; i < width * height; i++) png.data.writeUInt32BE(rgba >>> 0, i * 4)
  return PNG.sync.write(png)
}

/** A width×height JPEG of one colour (0xRRGGBBAA; JPEG has no alpha), as a camera would send it. */
export function solidJpeg(width: number, height: number, rgba: number): Buffer {
  const data = Buffer.alloc(width * height * 4)
  for (let i = 0; i < width * height; i++) data.writeUInt32BE(rgba >>> 0, i * 4)
  return jpeg.encode({ width, height, data }, 90).data
}

export interface Picture { width: number; height: number; mime: string; at(x: number, y: number): number }

/** Decodes a PNG or JPEG; `at` gives a pixel as 0xRRGGBBAA. */
export function readPicture(bytes: Buffer): Picture {
  const isPng = bytes.readUInt32BE(0) === 0x89504e47
  const img = isPng ? PNG.sync.read(bytes) : jpeg.decode(bytes, { formatAsRGBA: true })
  const data = Buffer.from(img.data)
  return { width: img.width, height: img.height, mime: isPng ? 'image/png' : 'image/jpeg', at: (x, y) => data.readUInt32BE((y * img.width + x) * 4) }
}
