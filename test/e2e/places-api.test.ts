import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startHub, type RunningHub } from '../helpers/hub.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

type Msg = Record<string, unknown>

describe('/api/places: places and alerts edited over HTTP with the safety of shares', () => {
  let hub: RunningHub
  const file = () => join(hub.aclDir, 'places.yml')
  const text = () => { try { return readFileSync(file(), 'utf8') } catch { return '' } }
  const call = async (user: string, method: string, path: string, body?: unknown) => {
    const res = await hub.http(`/api/places${path}`, { user, password: pw(user), method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
    return { status: res.status, body: await res.json() as Msg }
  }

  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'lisa', 'mum', 'fred', 'bob')
    await writeRules(hub, 'shares:\n  - from: lisa\n    to: mum\n  - from: lisa\n    to: fred\n    precision: 1km\n')
    // lisa has a phone (HTTP mode), so that others may or may not see her devices
    const res = await hub.http('/pub', { user: 'lisa', password: pw('lisa'), method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': 'lisa', 'x-limit-d': 'phone' }, body: JSON.stringify({ _type: 'location', lat: 52.5, lon: 13.4, tst: Math.floor(Date.now() / 1000) }) })
    assert.equal(res.status, 200)
  })
  after(async () => { await hub?.stop() })

  test('lisa adds her school; it is in acl/places.yml and in force when the answer arrives', async () => {
    const r = await call('lisa', 'POST', '', { name: 'school', lat: 52.52, lon: 13.405, radius: 150 })
    assert.deepEqual([r.status, r.body.places], [201, 1])
    assert.match(text(), /- name: school\n\s+owner: lisa\n\s+lat: 52.52\n\s+lon: 13.405\n\s+radius: 150m/)
    const mine = await call('lisa', 'GET', '')
    assert.deepEqual((mine.body.places as Msg[]).map((p) => [p.id, p.mine]), [['lisa/school', true]])
  })

  test('bob cannot add, change or delete lisa\'s places; the file stays as it was', async () => {
    const before = text()
    for (const [method, path, body] of [['POST', '', { name: 'x', owner: 'lisa', lat: 1, lon: 1, radius: 100 }], ['PUT', '/lisa/school', { name: 'school', lat: 1, lon: 1, radius: 100 }], ['DELETE', '/lisa/school', undefined]] as const) {
      const r = await call('bob', method, path, body)
      assert.equal(r.status, 403, `${method} ${path}`)
      assert.equal(r.body.error, "only lisa or an admin may change lisa's places")
    }
    assert.equal(text(), before)
  })

  test('a place the file would refuse is refused with the reason, and nothing changes', async () => {
    const before = text()
    const r = await call('lisa', 'POST', '', { name: 'tiny', lat: 52.5, lon: 13.4, radius: 5 })
    assert.equal(r.status, 400)
    assert.match(String(r.body.error), /radius/)
    assert.equal((await call('lisa', 'POST', '', { name: 'x', lat: 95, lon: 13.4, radius: 50 })).status, 400)
    assert.equal(text(), before)
  })

  test('who sees the outline and the presence: mum (exact share) does, fred (1 km) and bob do not', async () => {
    const ids = async (u: string) => ((await call(u, 'GET', '')).body.places as Msg[]).map((p) => p.id)
    assert.deepEqual(await ids('mum'), ['lisa/school'])
    assert.deepEqual(await ids('fred'), [])
    assert.deepEqual(await ids('bob'), [])
    // nor which place lisa is in: a blurred share names no places
    const presence = async (u: string) => ((await call(u, 'GET', '')).body.presence as Msg[]).map((p) => `${p.user}/${p.device}`)
    assert.deepEqual(await presence('mum'), ['lisa/phone'])
    assert.deepEqual(await presence('fred'), [])
    assert.deepEqual(await presence('bob'), [])
  })

  test('mum adds an alert about lisa to herself; not to someone else, not with a webhook; bob not about lisa at all', async () => {
    const ok = await call('mum', 'POST', '/alerts', { about: 'lisa', to: 'mum', places: ['school'], on: ['enter'] })
    assert.equal(ok.status, 201)
    assert.match(text(), /about: lisa\n\s+to: mum\n\s+places: \[school\]\n\s+on: \[enter\]/)
    assert.equal((await call('mum', 'POST', '/alerts', { about: 'lisa', to: 'bob', places: ['school'] })).status, 403)
    assert.equal((await call('mum', 'POST', '/alerts', { about: 'lisa', to: 'mum', webhook: 'https://ntfy.sh/#x' })).status, 403)
    const bob = await call('bob', 'POST', '/alerts', { about: 'lisa', to: 'bob' })
    assert.deepEqual([bob.status, bob.body.error], [403, "you may not see lisa's devices"])
  })

  test('the alert is mum\'s to remove, as its receiver (DELETE /api/places/alerts/<id>), not bob\'s', async () => {
    const alerts = (await call('mum', 'GET', '')).body.alerts as Msg[]
    assert.equal(alerts.length, 1)
    const id = String(alerts[0].id)
    assert.deepEqual((await call('bob', 'GET', '')).body.alerts, [])
    assert.equal((await call('bob', 'DELETE', `/alerts/${id}`)).status, 403)
    const gone = await call('mum', 'DELETE', `/alerts/${id}`)
    assert.deepEqual([gone.status, gone.body.alerts], [200, 0])
    assert.doesNotMatch(text(), /about: lisa/)
    assert.equal((await call('mum', 'DELETE', `/alerts/${id}`)).status, 404)
    // the place is still there: the alert's route is not a place named alerts/<id>
    assert.match(text(), /name: school/)
  })

  test('a file with a mistake (edited by hand) is refused with its line; writes over HTTP wait until it is fixed', async () => {
    const good = text()
    const since = hub.logs().length
    writeFileSync(file() + '.new', good + '  - name: broken\n    owner: nobody\n    lat: 1\n    lon: 1\n    radius: 100m\n')
    renameSync(file() + '.new', file())
    await hub.waitForLog(/places\.yml line \d+: .*the previous places stay in force/, 5000, since)
    const r = await call('lisa', 'POST', '', { name: 'home', lat: 52.5, lon: 13.4, radius: 80 })
    assert.equal(r.status, 409)
    assert.match(String(r.body.error), /the places file has a mistake, fix it first: .*places\.yml line \d+/)
    assert.deepEqual(((await call('lisa', 'GET', '')).body.places as Msg[]).map((p) => p.id), ['lisa/school'])
  })
})
