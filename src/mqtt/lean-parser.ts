import { createRequire } from 'node:module'
import type { Client } from 'aedes'

/** bl as mqtt-packet itself loads it, so the list is of the very version its parser was written against. */
const parserRequire = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'))
const { BufferList } = parserRequire('bl') as { BufferList: new () => List }

interface List {
  _bufs: Buffer[]
  readUInt8(offset?: number): number
  readUInt16BE(offset?: number): number
  slice(start?: number, end?: number): Buffer
}

/**
 * bl reads a byte by first slicing a Buffer of it, and finds where any range lies with an array of two:
 * a PUBLISH cost the parser six or seven such reads (its first byte, one or two bytes of its length, the
 * topic's length, the topic, the message id, the payload), each leaving garbage behind. Where the bytes
 * lie in the list's first buffer, as they do for a packet that came in one read (nearly every one), these
 * read them there; anything else goes to bl's own code.
 */
class LeanList extends BufferList {
  override readUInt8(offset = 0): number {
    const b = this._bufs[0]
    return b !== undefined && offset >= 0 && offset < b.length ? b[offset] : super.readUInt8(offset)
  }

  override readUInt16BE(offset = 0): number {
    const b = this._bufs[0]
    return b !== undefined && offset >= 0 && offset + 2 <= b.length ? (b[offset] << 8) | b[offset + 1] : super.readUInt16BE(offset)
  }

  override slice(start?: number, end?: number): Buffer {
    const b = this._bufs[0]
    return b !== undefined && start !== undefined && end !== undefined && start >= 0 && start < end && end <= b.length
      ? b.subarray(start, end)
      : super.slice(start, end)
  }
}

interface Parsing { _parser?: { _list?: object } }

/**
 * mqtt-packet's parser keeps the bytes of a packet still coming in a `bl()`, which is a BufferListStream:
 * a whole Duplex stream (its two states, listeners and bound callbacks) per connection, of which the
 * parser uses only the list: append, consume, slice, read. A BufferList of the same package is that
 * list without the stream, about a kilobyte less per idle phone, and LeanList reads from it without
 * garbage. The parser makes a new one only after a malformed packet (which closes the connection).
 */
export function leanParser(client: Client): void {
  const parser = (client as unknown as Parsing)._parser
  if (parser?._list) parser._list = new LeanList()
}
