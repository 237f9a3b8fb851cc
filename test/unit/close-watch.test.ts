import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { Aedes, type Client } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { leanCloseWatch } from '../../src/mqtt/close-watch.js'
import { waitFor } from '../helpers/hub.js'

/*
 * Two bare brokers side by side, one as aedes comes and one with the hub's watch in place of
 * stream.finished(): every way a phone's connection can end must close its client on both, with the
 * same will.
 */

interface Side {
  broker: Aedes
  server: Server
  port: number
  /** The server side of each connection, by client id once it has connected. */
  conns: Map<string, Socket>
  closed: string[]
  wills: string[]
}

async function side(lean: boolean): Promise<Side> {
  const broker = await Aedes.createBroker()
  const s: Side = { broker, server: createServer(), port: 0, conns: new Map(), closed: [], wills: [] }
  s.server.on('connection', (sock) => {
    const client = (broker as unknown as { handle: (c: Socket) => Client }).handle(sock)
    if (lean) leanCloseWatch(client)
  })
  broker.on('client', (c) => s.conns.set(c.id, (c as unknown as { conn: Socket }).conn))
  broker.on('clientDisconnect', (c) => s.closed.push(c.id))
  broker.subscribe('gone/#', (p, cb) => { s.wills.push(p.payload.toString()); cb() }, () => undefined)
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r))
  s.port = (s.server.address() as AddressInfo).port
  return s
}

/** A phone with a will, connected and answered. */
async function phone(s: Side, id: string): Promise<Socket> {
  const sock = connect(s.port, '127.0.0.1')
  sock.on('error', () => undefined)
  sock.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: id, clean: true, keepalive: 60, will: { topic: `gone/${id}`, payload: Buffer.from(id), qos: 0, retain: false } } as mqttPacket.IConnectPacket))
  await new Promise<void>((resolve) => sock.once('data', () => resolve()))
  await waitFor(`${id} known to the broker`, () => s.conns.get(id))
  return sock
}

const endings: [string, (phone: Socket, server: Socket) => void, boolean][] = [
  ['the phone sends DISCONNECT', (p) => p.end(mqttPacket.generate({ cmd: 'disconnect' })), false],
  ['the phone closes its side (FIN)', (p) => p.end(), true],
  ['the phone resets the connection (RST)', (p) => p.resetAndDestroy(), true],
  ['the broker side is destroyed (the hub cutting a phone off)', (_p, s) => s.destroy(), true],
  ['the broker side fails with an error', (_p, s) => s.destroy(new Error('cut')), true],
]

describe("the hub's close watch in place of stream.finished()", () => {
  let usual: Side
  let lean: Side
  before(async () => { usual = await side(false); lean = await side(true) })
  after(async () => {
    for (const s of [usual, lean]) {
      await new Promise<void>((r) => s.broker.close(() => r()))
      await new Promise((r) => s.server.close(r))
    }
  })

  test("takes finished()'s listeners off a TCP socket, puts one on for close, and takes that off with the client", async () => {
    const [pu, pl] = [await phone(usual, 'count'), await phone(lean, 'count')]
    const [su, sl] = [usual.conns.get('count')!, lean.conns.get('count')!]
    const counts = (s: Socket) => ['close', 'end', 'error', 'finish'].map((e) => s.listenerCount(e))
    const [cu, cl] = [counts(su), counts(sl)]
    assert.ok(cu[3] > 0, 'aedes as it comes watches the socket with finished()')
    // finished() listens to all four; the watch to close alone
    assert.deepEqual(cl, [cu[0], cu[1] - 1, cu[2] - 1, cu[3] - 1])
    for (const p of [pu, pl]) p.end(mqttPacket.generate({ cmd: 'disconnect' }))
    await waitFor('both closed', () => usual.closed.includes('count') && lean.closed.includes('count'))
    assert.deepEqual(counts(sl), counts(su), 'once the client is closed, the socket has the listeners it would have without the watch')
  })

  for (const [how, end, will] of endings) {
    test(`${how}: the client is closed${will ? ' and its will published' : ', no will'}, as by aedes itself`, async () => {
      const id = how.replace(/\W+/g, '-')
      for (const s of [usual, lean]) {
        const p = await phone(s, id)
        end(p, s.conns.get(id)!)
        await waitFor(`${id} closed`, () => s.closed.includes(id))
        if (will) await waitFor(`${id}'s will`, () => s.wills.includes(id))
        else await new Promise((r) => setTimeout(r, 100))
        assert.equal(s.wills.includes(id), will)
        assert.equal((s.broker as unknown as { clients: Record<string, unknown> }).clients[id], undefined, 'no longer among the clients')
      }
      assert.equal(lean.closed.filter((c) => c === id).length, 1, 'closed once')
    })
  }
})
