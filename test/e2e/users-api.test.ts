import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { mosquittoPub } from '../helpers/mosquitto.js'
import { addUsers, pw } from '../helpers/users.js'

interface UserJson { name: string; admin: boolean }

describe('the users API: admins add, change and remove hub users', () => {
  let hub: RunningHub
  const call = (user: string, password: string, method: string, path: string, body?: unknown) =>
    hub.http(`/api/users${path}`, { user, password, method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const admin = (method: string, path: string, body?: unknown) => call('admin', hub.adminPassword, method, path, body)
  const pub = (user: string, password: string) => mosquittoPub(['-p', String(hub.mqttPort), '-u', user, '-P', password, '-t', `owntracks/${user}/phone`, '-m', 'hello'])
  const list = async () => ((await (await admin('GET', '')).json()) as { users: UserJson[] }).users

  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'fred')
  })
  after(async () => { await hub?.stop() })

  test('a user who is not an admin gets 403 on every route', async () => {
    for (const [method, path, body] of [['GET', ''], ['POST', '', { name: 'x', password: 'y' }], ['PATCH', '/fred', { password: 'z' }], ['DELETE', '/admin']] as const) {
      const r = await call('fred', pw('fred'), method, path, body)
      assert.equal(r.status, 403, `${method} /api/users${path}`)
      assert.match(((await r.json()) as { error: string }).error, /only an admin/)
    }
    assert.equal((await hub.http('/api/users', { user: '' })).status, 401)
    assert.deepEqual((await list()).map((u) => u.name), ['admin', 'fred'], 'nothing changed')
  })

  test('an admin lists users', async () => {
    assert.deepEqual(await list(), [{ name: 'admin', admin: true }, { name: 'fred', admin: false }])
  })

  test('an admin creates jane, changes her password, makes her admin and deletes her', async () => {
    const made = await admin('POST', '', { name: 'jane', password: 'first-pw' })
    assert.equal(made.status, 201)
    assert.deepEqual(await made.json(), { name: 'jane', admin: false })
    assert.equal((await admin('POST', '', { name: 'jane', password: 'again' })).status, 409)
    await waitFor('jane logs in over MQTT', async () => (await pub('jane', 'first-pw')).code === 0, 3000)

    const changed = await admin('PATCH', '/jane', { password: 'second-pw' })
    assert.equal(changed.status, 200)
    await waitFor('the new password works', async () => (await pub('jane', 'second-pw')).code === 0, 3000)
    assert.notEqual((await pub('jane', 'first-pw')).code, 0, 'the old password is refused')

    const promoted = await admin('PATCH', '/jane', { admin: true })
    assert.deepEqual(await promoted.json(), { name: 'jane', admin: true })
    assert.deepEqual((await list()).find((u) => u.name === 'jane'), { name: 'jane', admin: true })
    await waitFor('jane is an admin for the hub', async () => (await call('jane', 'second-pw', 'GET', '')).status === 200, 3000)

    const gone = await admin('DELETE', '/jane')
    assert.equal(gone.status, 200)
    assert.deepEqual((await list()).map((u) => u.name), ['admin', 'fred'])
    await waitFor('jane can no longer log in', async () => (await pub('jane', 'second-pw')).code !== 0, 3000)
    assert.equal((await admin('DELETE', '/jane')).status, 404)
    assert.equal((await admin('PATCH', '/jane', { admin: true })).status, 404)
    assert.doesNotMatch(hub.logs(), /first-pw|second-pw/, 'passwords never reach the log')
  })

  test('bad names and empty passwords are refused with 400 naming the field', async () => {
    for (const bad of ['', 'a b', 'x/y', 'plus+', '#', 'a:b', 42, undefined]) {
      const r = await admin('POST', '', { name: bad, password: 'pw' })
      assert.equal(r.status, 400, `name ${JSON.stringify(bad)}`)
      assert.match(((await r.json()) as { error: string }).error, /^name: /)
    }
    for (const bad of ['', undefined, 7]) {
      const r = await admin('POST', '', { name: 'kim', password: bad })
      assert.equal(r.status, 400)
      assert.match(((await r.json()) as { error: string }).error, /^password: /)
    }
    const empty = await admin('PATCH', '/fred', { password: '' })
    assert.equal(empty.status, 400)
    assert.match(((await empty.json()) as { error: string }).error, /^password: /)
    assert.match(((await (await admin('POST', '', { name: 'kim', password: 'p', admin: 'yes' })).json()) as { error: string }).error, /^admin: /)
    assert.equal((await admin('PATCH', '/fred', {})).status, 400)
    const notJson = await hub.http('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
    assert.equal(notJson.status, 400)
    assert.deepEqual((await list()).map((u) => u.name), ['admin', 'fred'])
  })

  test('an admin cannot delete themself', async () => {
    const r = await admin('DELETE', '/admin')
    assert.equal(r.status, 400)
    assert.match(((await r.json()) as { error: string }).error, /yourself/)
    assert.deepEqual((await list()).find((u) => u.name === 'admin'), { name: 'admin', admin: true })
  })
})
