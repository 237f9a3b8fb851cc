import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Client } from 'aedes'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { leanParser } from '../../src/mqtt/lean-parser.js'

type Parser = ReturnType<typeof mqttPacket.parser> & { _list: object }

const packets: Packet[] = [
  { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: 'jane-phone', keepalive: 60, username: 'jane', password: Buffer.from('s3cret'), will: { topic: 'owntracks/jane/phone', payload: Buffer.from('{"_type":"lwt"}'), qos: 1, retain: false } } as Packet,
  { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'owntracks/jane/phone/cmd', qos: 1 }, { topic: 'owntracks/+/+', qos: 0 }] } as Packet,
  { cmd: 'publish', topic: 'owntracks/jane/phone', payload: Buffer.from('{"_type":"location","lat":52.5,"lon":13.4,"tst":1700000000,"tid":"jp","desc":"Köln — Straße"}'), qos: 1, messageId: 2, retain: true, dup: false } as Packet,
  { cmd: 'publish', topic: 'big', payload: Buffer.alloc(70_000, 7), qos: 0, retain: false, dup: false } as Packet,
  { cmd: 'puback', messageId: 9 } as Packet,
  { cmd: 'pingreq' } as Packet,
  { cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['owntracks/+/+'] } as Packet,
  { cmd: 'disconnect' } as Packet,
]

/** Every packet the parser emits for `bytes` fed in chunks of the sizes `sizes` gives, in turn. */
function parseAll(parser: Parser, bytes: Buffer, sizes: () => number): Packet[] {
  const out: Packet[] = []
  parser.on('packet', (p: Packet) => out.push(p))
  parser.on('error', (e: Error) => assert.fail(e))
  for (let at = 0; at < bytes.length;) {
    const n = Math.min(sizes(), bytes.length - at)
    parser.parse(bytes.subarray(at, at + n))
    at += n
  }
  return out
}

test('a parser with the plain list reads what one with its stream reads, however the bytes are cut', () => {
  const bytes = Buffer.concat(packets.map((p) => mqttPacket.generate(p)))
  let seed = 11
  const rnd = () => (seed = (seed * 16807) % 2147483647)
  for (const sizes of [() => 1, () => 2, () => 7, () => 1 + (rnd() % 300), () => 1 + (rnd() % 20_000), () => bytes.length]) {
    const usual = mqttPacket.parser() as Parser
    const lean = mqttPacket.parser() as Parser
    leanParser({ _parser: lean } as unknown as Client)
    assert.notEqual(lean._list.constructor, usual._list.constructor)
    // no stream left: none of its states, events or pipe
    assert.equal('pipe' in lean._list, false)
    assert.equal('_readableState' in lean._list, false)
    const expected = parseAll(usual, bytes, sizes)
    assert.equal(expected.length, packets.length)
    assert.deepEqual(parseAll(lean, bytes, sizes), expected)
  }
})

test("the parser's list reads every byte, pair and range as bl's own list does, wherever its buffers are cut", () => {
  const parsing = { _parser: { _list: {} } }
  leanParser(parsing as unknown as Client)
  type Reads = { append(b: Buffer): void; consume(n: number): void; length: number; readUInt8(o: number): number; readUInt16BE(o: number): number; slice(s: number, e: number): Buffer; toString(enc: string, s: number, e: number): string }
  const Lean = parsing._parser._list.constructor as new () => Reads
  // the list it extends: bl's BufferList, as mqtt-packet loads it
  const Plain = (Object.getPrototypeOf(Lean.prototype) as { constructor: new () => Reads }).constructor
  assert.equal(Plain.name, 'BufferList')
  const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff))
  for (const cuts of [[40], [1, 39], [3, 3, 34], [7, 1, 1, 31], [20, 20]]) {
    const lean = new Lean()
    const plain = new Plain()
    let at = 0
    for (const n of cuts) { lean.append(bytes.subarray(at, at + n)); plain.append(bytes.subarray(at, at + n)); at += n }
    for (const consumed of [0, 2, 5]) {
      if (consumed) { lean.consume(consumed); plain.consume(consumed) }
      for (let i = 0; i < lean.length; i++) {
        assert.equal(lean.readUInt8(i), plain.readUInt8(i), `byte ${i} of ${cuts}`)
        if (i + 2 <= lean.length) assert.equal(lean.readUInt16BE(i), plain.readUInt16BE(i), `pair ${i} of ${cuts}`)
        for (let j = i; j <= lean.length; j++) {
          assert.deepEqual(lean.slice(i, j), plain.slice(i, j), `range ${i}-${j} of ${cuts}`)
          assert.equal(lean.toString('latin1', i, j), plain.toString('latin1', i, j))
        }
      }
      // past the end, bl's own error
      assert.throws(() => lean.readUInt8(lean.length), RangeError)
      assert.throws(() => lean.readUInt16BE(lean.length - 1), RangeError)
    }
  }
})
