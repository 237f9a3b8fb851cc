import { createRequire } from 'node:module'
import type { Client } from 'aedes'

/** bl as mqtt-packet itself loads it, so the list is of the very version its parser was written against. */
const parserRequire = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'))
const { BufferList } = parserRequire('bl') as { BufferList: new () => object }

interface Parsing { _parser?: { _list?: object } }

/**
 * mqtt-packet's parser keeps the bytes of a packet still coming in a `bl()`, which is a BufferListStream:
 * a whole Duplex stream (its two states, listeners and bound callbacks) per connection, of which the
 * parser uses only the list: append, consume, slice, read. A plain BufferList of the same package is
 * that list without the stream, about a kilobyte less per idle phone. The parser makes a new one only
 * after a malformed packet (which closes the connection).
 */
export function leanParser(client: Client): void {
  const parser = (client as unknown as Parsing)._parser
  if (parser?._list) parser._list = new BufferList()
}
