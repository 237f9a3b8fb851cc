import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { encryptLikeTheApp } from '../helpers/encrypt.js'
import { mosquittoSub } from '../helpers/mosquitto.js'
import { location, phone } from '../helpers/phone.js'
import { addUsers } from '../helpers/users.js'

type Locations = { count: number; data: Record<string, unknown>[] }

describe('encrypted payloads: the hub decrypts into history, subscribers get them as published', () => {
  let hub: RunningHub
  const jane = { user: 'jane', password: 'jane-pw' }
  const secret = 'correct horse battery staple, and then some more' // > 32 bytes: the apps use the first 32
  const locations = async (user: string) => (await (await hub.http(`/api/0/locations?user=${user}&device=phone&from=2024-01-01`, user === 'jane' ? jane : {})).json()) as Locations
  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'jane', 'fred')
    const key = await runCli(['user', 'key', 'jane', '--secret', secret, '--data', hub.dataDir])
    assert.equal(key.code, 0, key.stderr)
    assert.match(key.stdout, /the apps use only its first 32 bytes/)
    await hub.waitForLog(/Reloaded encryption keys: 1/)
    await waitFor('users', async () => (await hub.http('/api/0/version', jane)).status === 200, 3000)
  })
  after(async () => { await hub?.stop() })

  test("jane's encrypted location: mosquitto_sub prints the ciphertext unchanged, the API returns the position", async () => {
    const sub = await mosquittoSub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', hub.adminPassword, '-v', '-t', 'owntracks/jane/#'])
    try {
      const ciphertext = encryptLikeTheApp(secret, location({ tid: 'jj', lat: 59.3293, lon: 18.0686, tst: 1732456789 }))
      const p = await phone(hub.mqttPort, 'jane', 'jane-pw')
      await p.publishAsync('owntracks/jane/phone', ciphertext, { qos: 1, retain: true })
      await p.endAsync()
      assert.deepEqual(await sub.waitForLines(1), [`owntracks/jane/phone ${ciphertext}`])
      const got = await locations('jane')
      assert.equal(got.count, 1)
      assert.equal(got.data[0]._type, 'location')
      assert.equal(got.data[0].lat, 59.3293)
      assert.equal(got.data[0].lon, 18.0686)
      const last = await (await hub.http('/api/0/last?user=jane', jane)).json() as Record<string, unknown>[]
      assert.equal(last[0].tid, 'jj')
      assert.doesNotMatch(hub.logs(), /59\.3293/, 'the decrypted position is never logged')
    } finally { await sub.stop() }
  })

  test('with the wrong key: delivered as published, logged, not stored; the hub carries on', async () => {
    const sub = await mosquittoSub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', hub.adminPassword, '-v', '-t', 'owntracks/jane/#'])
    try {
      const before = (await locations('jane')).count
      const wrong = encryptLikeTheApp('not the secret', location({ tid: 'jj', lat: 1, lon: 1 }))
      const p = await phone(hub.mqttPort, 'jane', 'jane-pw')
      await p.publishAsync('owntracks/jane/phone', wrong, { qos: 1 }) // acknowledged
      await hub.waitForLog(/Cannot decrypt the payload from janephone on 'owntracks\/jane\/phone': wrong key \(the MAC does not match\)\. The secret set with 'npx owntracks-hub user key jane' must equal the app's encryption key/)
      const right = encryptLikeTheApp(secret, location({ tid: 'jj', lat: 2, lon: 2, tst: 1732456800 }))
      await p.publishAsync('owntracks/jane/phone', right, { qos: 1 })
      await p.endAsync()
      const lines = await sub.waitForLines(3) // the retained one, then both live ones
      assert.ok(lines.includes(`owntracks/jane/phone ${wrong}`), 'the undecryptable payload still reached the subscriber')
      const after = await locations('jane')
      assert.equal(after.count, before + 1, 'only the good one was stored')
      assert.deepEqual(after.data.map((l) => l.lat), [59.3293, 2])
    } finally { await sub.stop() }
  })

  test('fred has no key: his encrypted payloads are kept encrypted, and the log says how to set one (once)', async () => {
    const p = await phone(hub.mqttPort, 'fred', 'fred-pw')
    for (let i = 0; i < 2; i++) await p.publishAsync('owntracks/fred/phone', encryptLikeTheApp('fred-secret', location()), { qos: 1 })
    await p.endAsync()
    assert.equal((hub.logs().match(/fred publishes encrypted payloads; they are stored encrypted until you set the same secret with 'npx owntracks-hub user key fred'/g) ?? []).length, 1)
    assert.equal((await locations('fred')).count, 0, 'no location to show, and none made up')
  })

  test('user key --clear forgets the secret; user key for an unknown user is refused', async () => {
    const clear = await runCli(['user', 'key', 'jane', '--clear', '--data', hub.dataDir])
    assert.equal(clear.code, 0)
    assert.match(clear.stdout, /Removed the encryption secret of jane/)
    const nobody = await runCli(['user', 'key', 'nobody', '--secret', 'x', '--data', hub.dataDir])
    assert.equal(nobody.code, 2)
    assert.match(nobody.stderr, /no user 'nobody'/)
  })
})
