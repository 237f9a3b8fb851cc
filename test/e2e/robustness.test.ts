import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, collect, location, phone } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'
import { WireClient } from '../helpers/wire.js'
import { Level } from 'level'
import { LevelHistory } from '../../src/store/history-level.js'


async function storedTsts(hub: RunningHub, user: string, device: string): Promise<Set<number>> {
  const res = await hub.http(`/api/0/locations?user=${user}&device=${device}&from=2000-01-01`)
  assert.equal(res.status, 200)
  return new Set(((await res.json()) as { data: { tst: number }[] }).data.map((l) => l.tst))
}

/** `phones` publish retained QoS 1 locations, `window` in flight each, until `stop()`; records what was acknowledged. */
function stream(phones: { c: MqttClient; user: string; device: string }[], window: number) {
  const acked = new Map<string, number[]>()
  let stopped = false
  let seq = 0
  const done = Promise.all(phones.flatMap((p) => {
    const key = `${p.user}/${p.device}`
    acked.set(key, [])
    return Array.from({ length: window }, async () => {
      while (!stopped) {
        const tst = 1_700_000_000 + seq++
        try {
          await p.c.publishAsync(`owntracks/${key}`, JSON.stringify(location({ tst })), { qos: 1, retain: true })
          acked.get(key)!.push(tst)
        } catch { return }
      }
    })
  }))
  const count = () => [...acked.values()].reduce((n, a) => n + a.length, 0)
  return { acked, count, stop: async () => { stopped = true; await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]) } }
}

async function missingAfter(hub: RunningHub, acked: Map<string, number[]>): Promise<string[]> {
  const missing: string[] = []
  for (const [key, tsts] of acked) {
    const [user, device] = key.split('/')
    const stored = await storedTsts(hub, user, device)
    for (const t of tsts) if (!stored.has(t)) missing.push(`${key}@${t}`)
  }
  return missing
}

describe('kill -9 under load, then restart', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub(); await addUsers(hub, 'ann', 'bob') })
  after(async () => { await hub?.stop() })

  test('nothing acknowledged is lost; retained messages and persistent sessions are intact', async () => {
    const watcherOpts = { clientId: 'watcher', clean: false }
    const watcher = await client(hub.mqttPort, 'admin', hub.adminPassword, watcherOpts)
    await watcher.subscribeAsync('owntracks/#', { qos: 1 })
    const phones = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const user = i % 2 ? 'ann' : 'bob'
      const device = `p${i}`
      const c = await phone(hub.mqttPort, user, `${user}-pw`, device)
      c.on('error', () => {})
      return { c, user, device }
    }))
    const s = stream(phones, 10)
    await waitFor('2,000 acknowledged publishes', () => s.count() >= 2000, 60_000)
    await hub.kill9()
    await s.stop()
    for (const p of phones) p.c.end(true)
    watcher.end(true)

    hub = await hub.restart()
    assert.deepEqual(await missingAfter(hub, s.acked), [], 'acknowledged locations missing after kill -9')

    const fresh = await client(hub.mqttPort, 'admin', hub.adminPassword)
    const retained = collect(fresh)
    await fresh.subscribeAsync('owntracks/+/+', { qos: 1 })
    await waitFor('a retained location per phone', () => retained.length >= 20, 10_000)
    for (const m of retained) {
      assert.equal(m.retain, true)
      assert.equal(JSON.parse(m.payload)._type, 'location', `retained on ${m.topic} is intact`)
    }
    assert.deepEqual(retained.map((m) => m.topic).sort(), phones.map((p) => `owntracks/${p.user}/${p.device}`).sort())

    const back = await client(hub.mqttPort, 'admin', hub.adminPassword, watcherOpts)
    const got = collect(back)
    const ann = await phone(hub.mqttPort, 'ann', 'ann-pw', 'later')
    await ann.publishAsync('owntracks/ann/later', JSON.stringify(location({ tst: 1_800_000_000 })), { qos: 1 })
    await waitFor('the persistent session, still subscribed, to receive a new publish', () => got.find((m) => m.topic === 'owntracks/ann/later'), 10_000)
    await Promise.all([fresh.endAsync(), back.endAsync(), ann.endAsync()])
  })
})

describe('SIGTERM under load', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub(); await addUsers(hub, 'ann') })
  after(async () => { await hub?.stop() })

  test('stops cleanly: nothing acknowledged is lost, no will is sent for the phones it disconnects', async () => {
    const phones = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const c = await phone(hub.mqttPort, 'ann', 'ann-pw', `p${i}`)
      c.on('error', () => {})
      return { c, user: 'ann', device: `p${i}` }
    }))
    const s = stream(phones, 10)
    await waitFor('1,000 acknowledged publishes', () => s.count() >= 1000, 60_000)
    const exited = new Promise<number | null>((r) => hub.proc.once('exit', (code) => r(code)))
    hub.proc.kill('SIGTERM')
    assert.equal(await exited, 0)
    await s.stop()
    for (const p of phones) p.c.end(true)
    assert.match(hub.logs(), /SIGTERM received, stopping/)
    assert.match(hub.logs(), /Stopped\./)

    // The databases are closed and unlocked: look inside. No lwt was published (it would be in the
    // history), but each phone's will is still stored for the next start.
    const history = await LevelHistory.open(join(hub.dataDir, 'history'))
    for (const p of phones) {
      const lwts = []
      for await (const r of history.records('ann', p.device, 'lwt', { from: 0, to: 2 ** 33 })) lwts.push(r)
      assert.deepEqual(lwts, [], `no lwt for ${p.device}`)
    }
    await history.close()
    const broker = new Level<string, Buffer>(join(hub.dataDir, 'broker'), { valueEncoding: 'buffer' })
    const wills = []
    for await (const k of broker.keys({ gte: 'will:', lt: 'will;' })) wills.push(k)
    await broker.close()
    assert.equal(wills.length, 10, 'the wills are kept')

    hub = await hub.restart()
    assert.deepEqual(await missingAfter(hub, s.acked), [])
  })
})

describe('the disk fills up', () => {
  const root = tempDir('othub-full-')
  const mnt = join(root, 'mnt')
  let hub: RunningHub | undefined
  let mounted = false
  after(async () => {
    await hub?.stop()
    if (mounted) spawnSync('umount', [mnt])
    rmSync(root, { recursive: true, force: true })
  })

  test('publishes are not acknowledged, with a clear error; nothing is corrupted; writes resume once there is room', async () => {
    mkdirSync(mnt)
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt], { encoding: 'utf8' })
    assert.equal(m.status, 0, `this test mounts a small tmpfs and needs root (CI runs as root): ${m.stderr}`)
    mounted = true
    hub = await startHub({ dataDir: join(mnt, 'data'), aclDir: join(root, 'acl') })
    await addUsers(hub, 'ann')
    const pub = await WireClient.open(hub.mqttPort, { clientId: 'annphone', username: 'ann', password: 'ann-pw' })
    const acked: number[] = []
    const big = 'x'.repeat(3000)
    for (let i = 0; i < 20; i++) {
      assert.ok(await pub.publish('owntracks/ann/phone', JSON.stringify(location({ tst: 1_700_000_000 + i, note: big }))))
      acked.push(1_700_000_000 + i)
    }
    // Leave less room than a few more messages need
    const fs = statfsSync(mnt)
    writeFileSync(join(mnt, 'filler'), Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 32 * 1024)))
    let refused = false
    for (let i = 20; i < 5000 && !refused; i++) {
      if (await pub.publish('owntracks/ann/phone', JSON.stringify(location({ tst: 1_700_000_000 + i, note: big })))) acked.push(1_700_000_000 + i)
      else refused = true
    }
    assert.ok(refused, 'a publish was refused (not acknowledged) once the disk was full')
    await hub.waitForLog(/Error: The history database cannot write: .*No space left on device\. Free space on that disk/)
    assert.match(hub.logs(), /History write failed for 'owntracks\/ann\/phone' from annphone: .*; not acknowledged/)
    const health = await hub.http('/healthz', { user: '' })
    assert.equal(health.status, 503)
    assert.match(((await health.json()) as { reason: string }).reason, /history database refuses writes/)
    const refusedAgain = await WireClient.open(hub.mqttPort, { clientId: 'annphone', username: 'ann', password: 'ann-pw' })
    assert.equal(await refusedAgain.publish('owntracks/ann/phone', JSON.stringify(location({ tst: 1_700_100_000 }))), false, 'still refused while the disk is full')

    unlinkSync(join(mnt, 'filler'))
    await hub.waitForLog(/The history database is writable again/, 15_000)
    assert.equal((await hub.http('/healthz', { user: '' })).status, 200)
    const again = await WireClient.open(hub.mqttPort, { clientId: 'annphone', username: 'ann', password: 'ann-pw' })
    for (let i = 0; i < 10; i++) {
      assert.ok(await again.publish('owntracks/ann/phone', JSON.stringify(location({ tst: 1_700_200_000 + i }))))
      acked.push(1_700_200_000 + i)
    }
    await again.close()
    assert.equal(hub.proc.exitCode, null, 'the hub kept running throughout')

    hub = await hub.restart()
    const stored = await storedTsts(hub, 'ann', 'phone')
    assert.deepEqual(acked.filter((t) => !stored.has(t)), [], 'every acknowledged location is there after a restart')
  })
})
