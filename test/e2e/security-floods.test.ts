import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { ATTACKER, closedCount, openSockets, rssMb, sampleRss } from '../helpers/flood.js'
import { client, location } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'


/** A CONNECT's fixed header announcing `size` bytes, which never come in full. */
const connectHeader = (size: number) => {
  const len: number[] = []
  let n = size
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; len.push(b) } while (n > 0)
  return Buffer.from([0x10, ...len])
}

describe('an anonymous flood: the memory a peer without credentials can make the hub hold', () => {
  let hub: RunningHub
  before(async () => {
    hub = await startHub({ args: ['--max-body', '100000'] })
    await addUsers(hub, 'jane')
  })
  after(async () => { await hub?.stop() })

  test('400 unfinished 2 MB CONNECT packets: the hub stays under 150 MB and closes them; jane connects meanwhile', async () => {
    const sampler = sampleRss(hub.proc.pid!)
    const chunk = Buffer.alloc(512 * 1024, 0x41)
    const socks = await openSockets(hub.mqttPort, 400)
    for (const s of socks) if (!s.destroyed) s.write(Buffer.concat([connectHeader(2 * 1024 * 1024), chunk]))
    const jane = await client(hub.mqttPort, 'jane', 'jane-pw')
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location()), { qos: 1 })
    await waitFor('every flooding connection closed by the hub', () => closedCount(socks) === socks.length, 20_000)
    const max = sampler.stop()
    console.log(`# hub RSS during 400 unfinished CONNECTs: ${Math.round(max)} MB at most`)
    assert.ok(max < 150, `RSS peaked at ${Math.round(max)} MB`)
    await hub.waitForLog(/closed: a connect packet of 2097152 bytes, more than max-connect-bytes 65536/)
    await jane.endAsync()
  })

  test('POST /signin bodies announced as 2 MB (512 kB sent) from 300 peers: 413 at once, the hub grows by less than 60 MB', async () => {
    const before = rssMb(hub.proc.pid!)
    const sampler = sampleRss(hub.proc.pid!)
    const statuses: string[] = []
    const body = Buffer.alloc(256 * 1024, 0x61)
    await Promise.all(Array.from({ length: 300 }, (_, i) => new Promise<void>((resolve) => {
      const s = connect({ port: hub.httpPort, host: '127.0.0.1', localAddress: ATTACKER })
      let answer = ''
      s.on('error', () => {})
      s.on('data', (b) => { answer += b.toString('latin1') })
      s.on('close', () => { statuses.push(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 'closed'); resolve() })
      s.on('connect', () => {
        // Half announce their length, half stream it chunked, as a script would.
        const head = i % 2 === 0
          ? `POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`
          : 'POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
        s.write(head)
        for (let k = 0; k < 2 && !s.destroyed; k++) s.write(i % 2 === 0 ? body : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]))
        setTimeout(() => s.destroy(), 5000)
      })
    })))
    const max = sampler.stop()
    console.log(`# hub RSS during 300 large sign-in bodies: ${Math.round(before)} MB before, ${Math.round(max)} MB at most; answers ${[...new Set(statuses)].join(', ')}`)
    // What the refused bodies pass through is garbage the GC has not collected yet, not memory held: it
    // stays well below what 300 bodies would take (at least 150 MB).
    assert.ok(max - before < 60, `RSS grew from ${Math.round(before)} to ${Math.round(max)} MB`)
    assert.ok(statuses.filter((s) => s === '413').length >= 100, 'over-long bodies are answered 413')
    assert.equal((await hub.http('/healthz', { user: '' })).status, 200)
  })

  test('every route limits its body (413), with or without credentials', async () => {
    const big = 'x'.repeat(150_000)
    for (const path of ['/pub?u=jane&d=phone', '/api/0/locations', '/api/sharing', '/api/users']) {
      for (const user of ['jane', '']) {
        const r = await hub.http(path, { method: 'POST', user, password: 'jane-pw', headers: { 'content-type': 'application/json' }, body: big })
        assert.equal(r.status, 413, `${path} ${user || 'anonymous'}`)
      }
      // Streamed without a length: counted as it is read.
      const chunked = new ReadableStream({ start(ctl) { ctl.enqueue(new TextEncoder().encode(big)); ctl.close() } })
      const r = await hub.http(path, { method: 'POST', user: 'admin', headers: { 'content-type': 'application/json' }, body: chunked, duplex: 'half' } as RequestInit)
      assert.ok(r.status >= 400, `${path} chunked: ${r.status}, not accepted`)
    }
    const signin = await fetch(`http://127.0.0.1:${hub.httpPort}/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'jane', password: 'x'.repeat(20_000) }) })
    assert.equal(signin.status, 413, 'sign-in takes 16 kB at most')
  })
})
