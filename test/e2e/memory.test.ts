import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { metric, startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { addUsers, pw } from '../helpers/users.js'
import { WireClient } from '../helpers/wire.js'

/** RSS of a process now, in MB, from /proc. */
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

describe('memory, when the hub goes quiet', () => {
  let hub: RunningHub
  // One account logs in 500 times from one address: the password-check limits would refuse most of them.
  before(async () => { hub = await startHub({ args: ['--auth-rate-account', '0', '--auth-rate-address', '0'] }); await addUsers(hub, 'jane') })
  after(async () => { await hub?.stop() })

  test('what 500 phones logging in left behind is given back once they sit idle, and nothing they need goes with it', async () => {
    const atStart = await metric(hub, 'othub_memory_collections_total')
    assert.ok(atStart >= 1, 'start-up garbage is collected before the hub says it is running')
    const phones: WireClient[] = []
    for (let i = 0; i < 500; i += 100) {
      phones.push(...await Promise.all(Array.from({ length: 100 }, async (_, k) => {
        const c = await WireClient.open(hub.mqttPort, { clientId: `jane-m${i + k}`, username: 'jane', password: 'jane-pw', clean: false, keepalive: 120 })
        await c.subscribe(`owntracks/jane/m${i + k}/cmd`, 1)
        return c
      })))
    }
    const busy = { heap: await metric(hub, 'nodejs_heap_size_total_bytes'), rss: rssMb(hub.proc.pid!) }
    // Quiet now (asked every 2 s: a scrape is work too): within a few of its checks the hub collects once.
    for (let i = 0; i < 15 && (await metric(hub, 'othub_memory_collections_total')) === atStart; i++) await new Promise((r) => setTimeout(r, 2000))
    assert.ok((await metric(hub, 'othub_memory_collections_total')) > atStart, 'a full collection once the logins are over')
    const quiet = { heap: await metric(hub, 'nodejs_heap_size_total_bytes'), rss: rssMb(hub.proc.pid!) }
    assert.ok(quiet.heap < busy.heap * 0.8, `V8's heap shrank: ${(busy.heap / 1048576).toFixed(1)} → ${(quiet.heap / 1048576).toFixed(1)} MB`)
    assert.ok(quiet.rss < busy.rss, `and so did the RSS: ${busy.rss.toFixed(1)} → ${quiet.rss.toFixed(1)} MB`)
    // Every phone is still connected and subscribed: a command reaches the last one.
    const last = phones[phones.length - 1]
    const got = new Promise<string>((resolve) => { last.onMessage = (m) => resolve(m.topic) })
    const admin = await WireClient.open(hub.mqttPort, { clientId: 'admin-m', username: 'admin', password: hub.adminPassword })
    await admin.publish('owntracks/jane/m499/cmd', '{"_type":"cmd","action":"reportLocation"}', 1)
    assert.equal(await got, 'owntracks/jane/m499/cmd')
    await Promise.all([...phones, admin].map((c) => c.close()))
  })
})

describe('what a connected phone costs to keep', () => {
  const snaps = tempDir()
  let hub: RunningHub
  // A heap snapshot on SIGUSR2 (Node writes it into --diagnostic-dir): what the hub holds, live objects only.
  before(async () => { hub = await startHub({ env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snaps}` } }); await addUsers(hub, 'qzmemo') })
  after(async () => { await hub?.stop(); rmSync(snaps, { recursive: true, force: true }) })

  /** The strings of a heap snapshot of the hub, taken now. */
  const heapStrings = async (): Promise<string[]> => {
    process.kill(hub.proc.pid!, 'SIGUSR2')
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200))
      const file = readdirSync(snaps).find((f) => f.endsWith('.heapsnapshot'))
      if (!file) continue
      try {
        return (JSON.parse(readFileSync(join(snaps, file), 'utf8')) as { strings: string[] }).strings
      } catch {
        // still being written
      }
    }
    throw new Error('no heap snapshot within 20 s')
  }

  test('neither its password nor its CONNECT is kept once it is in', async () => {
    const phone = await WireClient.open(hub.mqttPort, { clientId: 'qzmemo-phone', username: 'qzmemo', password: pw('qzmemo'), clean: false })
    await phone.subscribe('owntracks/qzmemo/phone/cmd', 1)
    const strings = await heapStrings()
    assert.ok(strings.includes('qzmemo-phone'), 'the snapshot holds the connected client (its id)')
    assert.ok(!strings.includes(pw('qzmemo')), 'the password of a connected phone is not in the hub\'s memory')
    // still connected and served
    const got = new Promise<string>((resolve) => { phone.onMessage = (m) => resolve(m.topic) })
    const admin = await WireClient.open(hub.mqttPort, { clientId: 'admin-q', username: 'admin', password: hub.adminPassword })
    await admin.publish('owntracks/qzmemo/phone/cmd', '{"_type":"cmd","action":"reportLocation"}', 1)
    assert.equal(await got, 'owntracks/qzmemo/phone/cmd')
    await Promise.all([phone.close(), admin.close()])
  })
})
