import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises'
import { readGate, type ReadGate } from '../../src/mqtt/read-gate.js'

/**
 * A connection as aedes reads it: a stream with `chunk` bytes waiting, whose client asks for the next
 * chunk with read(null) once the last one is handled (nextBatch in aedes' client.js).
 */
function connection(gate: ReadGate, chunk: number) {
  const conn = new PassThrough() as PassThrough & { client?: { _nextBatch(): void } }
  const got: number[] = []
  // aedes asks with read(null), which Node's types do not list
  conn.client = { _nextBatch: () => { const b = conn.read(null as unknown as number) as Buffer | null; if (b) got.push(b.length) } }
  gate.gate(conn)
  conn.write(Buffer.alloc(chunk))
  return { conn, got, handled: () => conn.client!._nextBatch() }
}

describe('the read gate', () => {
  // 1,000 bytes; a chunk counts for at most 250 of them.
  const busy = (gate: ReadGate) => {
    const four = Array.from({ length: 4 }, () => connection(gate, 250))
    for (const c of four) c.handled()
    assert.deepEqual(four.map((c) => c.got), [[250], [250], [250], [250]], 'read while there is room')
    return four
  }

  test('past its limit a connection waits, and reads once another chunk is handled', async () => {
    let waits = 0
    const gate = readGate(1000, () => { waits++ }, 1e9)
    const [first] = busy(gate)
    const late = connection(gate, 100)
    late.handled()
    await turn()
    assert.deepEqual(late.got, [], 'no read past the limit')
    assert.equal(waits, 1)
    first.handled() // its packets are done: it asks for more, and makes room
    await turn()
    assert.deepEqual(late.got, [100])
  })

  test('a connection slowed down on purpose stops counting at once', async () => {
    const gate = readGate(1000, () => {}, 1e9)
    const [first] = busy(gate)
    const late = connection(gate, 100)
    late.handled()
    await turn()
    assert.deepEqual(late.got, [])
    gate.release(first.conn)
    await turn()
    assert.deepEqual(late.got, [100])
  })

  test('a chunk whose packets never finish stops counting after two spans at most', async () => {
    const gate = readGate(1000, () => {}, 20)
    busy(gate)
    const late = connection(gate, 100)
    late.handled()
    assert.deepEqual(late.got, [])
    for (let i = 0; i < 100 && late.got.length === 0; i++) await sleep(10)
    assert.deepEqual(late.got, [100])
  })

  test('a chunk counts for at most a quarter of the limit: one connection never shuts the gate', async () => {
    const gate = readGate(1000, () => {}, 1e9)
    const big = connection(gate, 5000)
    big.handled()
    const other = connection(gate, 100)
    other.handled()
    assert.deepEqual([big.got, other.got], [[5000], [100]])
  })
})
