import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, collect, location, phone } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'

// Not jane/busy: it is written to while the backup runs.
const ANSWERS = ['/api/0/list', '/api/0/list?user=fred', '/api/0/last?user=fred', '/api/0/last?user=jane&device=phone',
  '/api/0/locations?user=jane&device=phone&from=2000-01-01', '/api/0/locations?user=fred&device=car&from=2000-01-01']

/**
 * The answers carry offline place names, which a hub loads on first use: until then a location has no
 * town, so both hubs are compared once their names are in memory (asking names one loads them).
 */
async function answers(hub: RunningHub, user = 'admin', password?: string): Promise<string[]> {
  await waitFor('the offline place names', async () => ((await (await hub.http('/api/0/q?lat=48.8583&lon=2.2945')).json()) as { locality?: string }).locality)
  return Promise.all(ANSWERS.map(async (path) => {
    const res = await hub.http(path, { user, password })
    assert.equal(res.status, 200, path)
    return `${path} → ${await res.text()}`
  }))
}

describe('backup and restore', () => {
  const root = tempDir()
  const data = join(root, 'data')
  const acl = join(root, 'acl')
  let hub: RunningHub
  before(async () => {
    hub = await startHub({ dataDir: data, aclDir: acl })
    await addUsers(hub, 'jane', 'fred')
    writeFileSync(join(acl, 'family.acl'), 'user fred\ntopic read owntracks/jane/#\n')
    await hub.waitForLog(/Reloaded access rules/)
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  test('a backup taken while the hub runs, restored into a wiped data directory, gives the same API answers, users, rules and retained messages', async () => {
    const jane = await phone(hub.mqttPort, 'jane', 'jane-pw')
    const fred = await phone(hub.mqttPort, 'fred', 'fred-pw', 'car')
    for (let i = 0; i < 50; i++) {
      await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ tst: 1_700_000_000 + i * 60 })), { qos: 1, retain: true })
      await fred.publishAsync('owntracks/fred/car', JSON.stringify(location({ tst: 1_700_000_000 + i * 60, tid: 'fc' })), { qos: 1, retain: true })
    }
    await jane.publishAsync('owntracks/jane/phone/info', JSON.stringify({ _type: 'card', name: 'Jane', tid: 'jp' }), { qos: 1, retain: true })
    const before = await answers(hub)
    const beforeFred = await answers(hub, 'fred', 'fred-pw').catch(() => [])

    // Keep publishing while the backup runs: it must still be a consistent snapshot.
    let stop = false
    let extra = 0
    const busy = (async () => {
      while (!stop) { await jane.publishAsync('owntracks/jane/busy', JSON.stringify(location({ tst: 1_700_100_000 + extra })), { qos: 1 }); extra++ }
    })()
    const dest = join(root, 'backup-1')
    const b = await runCli(['backup', dest, '--data', data, '--acl-dir', acl])
    stop = true
    await busy
    assert.equal(b.code, 0, b.stderr)
    assert.match(b.stdout, /^history: \d+ keys copied$/m)
    assert.match(b.stdout, /^Backup done: history \d+ keys, broker \d+ keys, files: admins initial-admin-password passwd tours vapid\.json, rules: family\.acl\.$/m)
    assert.match(b.stdout, /^The running hub writes the backup/m)
    assert.equal(statSync(dest).mode & 0o777, 0o700)
    assert.equal(statSync(join(dest, 'passwd')).mode & 0o777, 0o600)
    await Promise.all([jane.endAsync(), fred.endAsync()])

    const refused = await runCli(['restore', dest, '--data', data, '--acl-dir', acl])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /a hub is running on .*: stop it first/)

    await hub.stop()
    rmSync(data, { recursive: true, force: true })
    rmSync(acl, { recursive: true, force: true })
    const r = await runCli(['restore', dest, '--data', data, '--acl-dir', acl])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /restored 1 rule file\(s\)/)
    hub = await startHub({ dataDir: data, aclDir: acl })

    assert.deepEqual(await answers(hub), before)
    assert.deepEqual(await answers(hub, 'fred', 'fred-pw').catch(() => []), beforeFred)
    const busyCount = ((await (await hub.http('/api/0/locations?user=jane&device=busy&from=2000-01-01')).json()) as { count: number }).count
    assert.ok(busyCount <= extra, `the snapshot holds a prefix of the busy stream (${busyCount} of ${extra})`)
    const sub = await client(hub.mqttPort, 'fred', 'fred-pw')
    const got = collect(sub)
    await sub.subscribeAsync('owntracks/+/+', { qos: 1 })
    await waitFor('retained locations of jane (the rule) and fred (his own)', () => got.length >= 2)
    assert.deepEqual(got.map((m) => m.topic).sort(), ['owntracks/fred/car', 'owntracks/jane/phone'])
    await sub.endAsync()
  })

  test('restore refuses a data directory that is not empty unless --force, which moves it aside', async () => {
    await hub.stop()
    const dest = join(root, 'backup-1')
    const r = await runCli(['restore', dest, '--data', data, '--acl-dir', acl])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /data directory .* is not empty; stop the hub and add --force/)
    const f = await runCli(['restore', dest, '--data', data, '--acl-dir', acl, '--force'])
    assert.equal(f.code, 0, f.stderr)
    const aside = readdirSync(data).filter((n) => n.startsWith('.before-restore-'))
    assert.equal(aside.length, 1)
    assert.ok(existsSync(join(data, aside[0], 'history')), 'the old data is kept, not deleted')
    hub = await startHub({ dataDir: data, aclDir: acl })
    assert.equal((await hub.http('/api/0/list')).status, 200)
    assert.equal((await runCli(['restore', join(root, 'nothing-here'), '--data', join(root, 'other')])).code, 1)
  })

  test('backup with no hub running reads the data itself', async () => {
    await hub.stop()
    const dest = join(root, 'backup-offline')
    const b = await runCli(['backup', dest, '--data', data, '--acl-dir', acl])
    assert.equal(b.code, 0, b.stderr)
    assert.match(b.stdout, /Backup done: history [1-9]\d* keys/)
    const again = await runCli(['backup', dest, '--data', data, '--acl-dir', acl])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /is not empty; give a new or empty one/)
    hub = await startHub({ dataDir: data, aclDir: acl })
  })
})
