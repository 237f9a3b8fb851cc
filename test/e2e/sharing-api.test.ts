import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { startHub, type RunningHub } from '../helpers/hub.js'
import { location, phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

const RULES = `# Our family's sharing rules (hand-written; the hub keeps this comment)
admins: [mum]   # mum runs the hub
shares:
  # fred sees roughly where jane's phone is
  - from: jane
    to: fred
    devices: [phone]
    precision: 1km
`

interface ShareJson { id: string; from: string; to: string[]; precision: string | null; history: boolean | string; until: string | null; active: boolean; where: { file: string; line: number } }
interface Overview { user: string; admin: boolean; shares: ShareJson[]; groups: unknown[] }

const NOW = Math.floor(Date.now() / 1000)
const EXACT = { lat: 51.500729, lon: -0.124625 }

describe('the sharing API: read your rules, share your own devices, nothing more', () => {
  let hub: RunningHub
  let jane: MqttClient
  const as = (user: string) => ({ user, password: pw(user) })
  const api = (user: string, method: string, path: string, body?: unknown) =>
    hub.http(`/api/sharing${path}`, { ...as(user), method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const rulesText = () => readFileSync(join(hub.aclDir, 'sharing.yml'), 'utf8')
  const lastOf = async (user: string) => (await (await hub.http('/api/0/last', as(user))).json()) as Record<string, unknown>[]
  let fredShare: string

  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'jane', 'fred', 'kid', 'mum')
    assert.match(await writeRules(hub, RULES), /Reloaded/)
    jane = await phone(hub.mqttPort, 'jane', pw('jane'))
    // a location from ten days ago and one from now
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...EXACT, tst: NOW - 10 * 86400, SSID: 'home' })), { qos: 1 })
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...EXACT, tst: NOW, SSID: 'home' })), { qos: 1, retain: true })
  })
  after(async () => {
    await jane?.endAsync()
    await hub?.stop()
  })

  test('each user reads the rules they are part of; an admin reads all', async () => {
    const fred = await (await api('fred', 'GET', '')).json() as Overview
    assert.equal(fred.admin, false)
    assert.deepEqual(fred.shares.map((s) => [s.from, s.to, s.precision, s.active, s.where.line]), [['jane', ['fred'], '1km', true, 5]])
    fredShare = fred.shares[0].id
    const kid = await (await api('kid', 'GET', '')).json() as Overview
    assert.deepEqual(kid.shares, [], 'kid is part of no rule')
    const mum = await (await api('mum', 'GET', '')).json() as Overview
    assert.equal(mum.admin, true, 'admin by the rules file')
    assert.equal(mum.shares.length, 1)
    assert.equal((await hub.http('/api/sharing', { user: '' })).status, 401)
  })

  test('HTTP answers follow the share: fred gets jane blurred, kid gets nothing of jane', async () => {
    const fredLast = await lastOf('fred')
    assert.deepEqual(fredLast.map((l) => l.username), ['jane'])
    assert.notEqual(fredLast[0].lat, EXACT.lat)
    assert.equal(fredLast[0].SSID, undefined)
    const hist = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01', as('fred'))).json() as { data: Record<string, unknown>[] }
    assert.equal(hist.data.length, 2)
    assert.ok(hist.data.every((l) => l.lat !== EXACT.lat && l.SSID === undefined), 'history is blurred too')
    assert.deepEqual(await lastOf('kid'), [])
    assert.equal((await hub.http('/api/0/locations?user=jane&device=phone&limit=9', as('kid'))).status, 403)
  })

  test('nobody widens their own access through the API; every refusal leaves the file as it was', async () => {
    const before = rulesText()
    const tries: [string, string, string, unknown, number, RegExp][] = [
      ['fred', 'POST', '/shares', { from: 'jane', to: 'fred' }, 403, /only your own devices/],
      ['fred', 'POST', '/shares', { from: 'jane', to: 'fred', precision: '10m' }, 403, /only your own devices/],
      ['fred', 'PATCH', `/shares/${fredShare}`, { precision: null }, 403, /only jane or an admin/],
      ['fred', 'PATCH', `/shares/${fredShare}`, { from: 'fred' }, 403, /only jane or an admin/],
      ['fred', 'DELETE', `/shares/${fredShare}`, undefined, 403, /only jane or an admin/],
      ['kid', 'POST', '/shares', { to: 'kid', topics: ['owntracks/#'] }, 400, /topics|unrecognized/i],
      ['fred', 'POST', '/shares', { to: 'fredd' }, 400, /unknown person 'fredd'/],
      ['fred', 'POST', '/shares', { to: 'jane', precision: '1 mile' }, 400, /precision: '1 mile' is not a precision/],
      ['fred', 'POST', '/shares', { to: 'jane', until: 'tomorrow' }, 400, /until: 'tomorrow' is not a time with a zone/],
      ['fred', 'POST', '/shares', 'not an object', 400, /body|expected object/i],
      ['jane', 'PATCH', '/shares/nosuchid', { history: false }, 404, /no share with id 'nosuchid'/],
    ]
    for (const [user, method, path, body, status, error] of tries) {
      const res = await api(user, method, path, body)
      const json = await res.json() as { error: string }
      assert.equal(res.status, status, `${user} ${method} ${path} ${JSON.stringify(body)}: ${json.error}`)
      assert.match(json.error, error)
    }
    assert.equal(rulesText(), before)
    const fredLast = await lastOf('fred')
    assert.notEqual(fredLast[0].lat, EXACT.lat, 'still blurred')
  })

  test('jane shares with kid for 2 hours, live only: saved with comments kept, in force when the answer arrives', async (t) => {
    const kid = await Receiver.connect(hub, 'kid')
    t.after(() => kid.end())
    await kid.subscribe('owntracks/+/+')
    assert.deepEqual(kid.topics(), [], 'not yet shared')
    const res = await api('jane', 'POST', '/shares', { to: 'kid', for: '2h', history: false })
    assert.equal(res.status, 201)
    const share = await res.json() as ShareJson
    assert.deepEqual([share.from, share.to, share.history, share.active], ['jane', ['kid'], false, true])
    assert.ok(Date.parse(share.until!) - Date.now() > 7000 * 1000 && Date.parse(share.until!) - Date.now() <= 7200 * 1000)
    const text = rulesText()
    for (const comment of ["# Our family's sharing rules (hand-written; the hub keeps this comment)", '# mum runs the hub', "# fred sees roughly where jane's phone is"]) {
      assert.ok(text.includes(comment), `kept: ${comment}\n${text}`)
    }
    // An id such as 2e626186 reads as a number in YAML, so the file quotes it to keep it a string.
    assert.match(text, new RegExp(`- id: "?${share.id}"?\\n    from: jane\\n    to: kid\\n    history: false\\n    for: 2h\\n    created: \\d{4}-`))
    assert.equal((await lastOf('kid'))[0]?.username, 'jane', 'HTTP at once')
    const hist = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01', as('kid'))).json() as { count: number }
    assert.equal(hist.count, 0, 'live only')
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...EXACT, tst: NOW + 1 })), { qos: 1, retain: true })
    await kid.settle()
    assert.deepEqual(kid.topics(), ['owntracks/jane/phone'], 'MQTT at once, on the existing subscription')

    // jane revokes it: kid's subscription goes quiet, over HTTP too
    const del = await api('jane', 'DELETE', `/shares/${share.id}`)
    assert.equal(del.status, 200)
    kid.clear()
    await jane.publishAsync('owntracks/jane/phone', JSON.stringify(location({ ...EXACT, tst: NOW + 2 })), { qos: 1, retain: true })
    await kid.settle()
    assert.deepEqual(kid.topics(), [])
    assert.deepEqual(await lastOf('kid'), [])
    assert.ok(!rulesText().includes(share.id))
    assert.ok(rulesText().includes("# fred sees roughly where jane's phone is"))
  })

  test('the sharer changes her share: exact now, with 7 days of history; an admin may change anyone\'s', async () => {
    const res = await api('jane', 'PATCH', `/shares/${fredShare}`, { precision: null, history: '7d' })
    assert.equal(res.status, 200, await res.clone().text())
    const changed = await res.json() as ShareJson
    assert.deepEqual([changed.id, changed.precision, changed.history], [fredShare, null, '7d'])
    assert.ok(rulesText().includes("# fred sees roughly where jane's phone is"), 'its comment stays with it')
    const fredLast = await lastOf('fred')
    assert.equal(fredLast[0].lat, EXACT.lat)
    const hist = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01', as('fred'))).json() as { data: { tst: number }[] }
    assert.ok(hist.data.length >= 1 && hist.data.every((l) => l.tst >= NOW - 7 * 86400), 'the location of ten days ago is out of reach')

    const byAdmin = await api('mum', 'PATCH', `/shares/${fredShare}`, { precision: 'geohash 5' })
    assert.equal(byAdmin.status, 200)
    const g = (await lastOf('fred'))[0]
    assert.notEqual(g.lat, EXACT.lat)
    const created = await api('mum', 'POST', '/shares', { from: 'kid', to: ['jane', 'fred'], include: ['location'] })
    assert.equal(created.status, 201, 'an admin may share anyone\'s devices')
    assert.match(await writeRules(hub, rulesText()), /Reloaded access rules/) // the file the API wrote loads as is
    assert.equal((await api('jane', 'GET', '')).status, 200)
  })
})
