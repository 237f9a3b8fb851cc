import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import WebSocket from 'ws'
import { startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { card, loc, seedHistory } from '../helpers/history.js'
import { as, createUsers } from '../helpers/users.js'
import { client, location, phone } from '../helpers/phone.js'
import { AccessControl } from '../../src/access/access.js'
import { identifyBasic } from '../../src/http/auth.js'
import { UpgradeRouter } from '../../src/http/upgrade.js'
import { WsLast } from '../../src/http/ws-last.js'
import { createLogger } from '../../src/log.js'
import { LevelHistory } from '../../src/store/history-level.js'
import { UserRegistry } from '../../src/users/registry.js'

type Msg = Record<string, unknown>

/** A WebSocket client like the OwnTracks Frontend's: connects to /ws/last and collects what arrives. */
function liveClient(port: number, who: { user: string; password: string } | undefined, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; got: Msg[] }> {
  const auth = who ? { Authorization: 'Basic ' + Buffer.from(`${who.user}:${who.password}`).toString('base64') } : {}
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/last`, { headers: { ...auth, ...headers } })
  const got: Msg[] = []
  ws.on('message', (data) => got.push(JSON.parse(data.toString()) as Msg))
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, got }))
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers })))
    ws.once('error', reject)
  })
}

let markers = 0

/**
 * Publishes a marker location on fred's phone, which jane may see, and waits until it arrives on `got`:
 * the feed sends in the order the hub accepted publishes, so what was not there before the marker was
 * not sent. Removes the marker from `got`.
 */
async function settle(hub: RunningHub, got: Msg[]): Promise<void> {
  const batt = ++markers
  const c = await client(hub.mqttPort, 'fred', 'fred-pw')
  await c.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'mk', batt })), { qos: 1 })
  await c.endAsync()
  await waitFor('the marker on the feed', () => got.some((m) => m.tid === 'mk' && m.batt === batt))
  got.splice(got.findIndex((m) => m.tid === 'mk' && m.batt === batt), 1)
}

describe('/ws/last, the live feed the OwnTracks Frontend listens to', () => {
  let hub: RunningHub
  let root: string
  const now = Math.floor(Date.now() / 1000)

  before(async () => {
    root = tempDir()
    mkdirSync(join(root, 'acl'), { recursive: true })
    writeFileSync(join(root, 'acl', 'family.acl'), 'user jane\ntopic read owntracks/fred/phone\n')
    await createUsers(join(root, 'data'), { admin: { admin: true }, jane: {}, fred: {} })
    await seedHistory(join(root, 'data'), [[loc('fred', 'phone', now - 60, { tid: 'fr' }), card('fred', 'phone', 'Fred'), loc('fred', 'tablet', now - 60, { tid: 'ft' })]])
    hub = await startHub({ dataDir: join(root, 'data'), aclDir: join(root, 'acl') })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  test('no or wrong credentials: 401 with a Basic challenge; a page on another site: 403', async () => {
    await assert.rejects(liveClient(hub.httpPort, undefined), (e: Error & { status: number; headers: Record<string, string> }) => e.status === 401 && /^Basic/.test(e.headers['www-authenticate']))
    await assert.rejects(liveClient(hub.httpPort, { user: 'jane', password: 'nope' }), { status: 401 })
    await assert.rejects(liveClient(hub.httpPort, as('jane'), { Origin: 'https://evil.example' }), { status: 403 })
    const same = await liveClient(hub.httpPort, as('jane'), { Origin: `http://127.0.0.1:${hub.httpPort}` })
    same.ws.close()
  })

  test("after LAST, jane gets the newest location of each device she may see: fred's phone, not his tablet, and no card she may not read", async () => {
    const { ws, got } = await liveClient(hub.httpPort, as('jane'))
    ws.send('LAST')
    await waitFor('the last locations', () => got.length >= 1)
    await settle(hub, got)
    assert.deepEqual(got.map((m) => `${m.username}/${m.device}`), ['fred/phone'])
    assert.equal(got[0]._type, 'location')
    assert.equal(got[0].topic, 'owntracks/fred/phone')
    assert.equal(got[0].tid, 'fr')
    assert.equal(got[0].name, undefined, 'her ACL line reads owntracks/fred/phone, not …/info: no name, as over MQTT')
    ws.close()
  })

  test("a publish arrives as it happens; one from a device or a topic jane may not read does not", async () => {
    const { ws, got } = await liveClient(hub.httpPort, as('jane'))
    const fred = await phone(hub.mqttPort, 'fred', 'fred-pw', 'tablet')
    await fred.publishAsync('owntracks/fred/tablet', JSON.stringify(location({ tid: 'ft', lat: 10 })), { qos: 1, retain: true })
    await fred.endAsync()
    const fredPhone = await phone(hub.mqttPort, 'fred', 'fred-pw', 'phone')
    await fredPhone.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr', lat: 11 })), { qos: 1, retain: true })
    await fredPhone.publishAsync('owntracks/fred/phone/event', JSON.stringify({ _type: 'transition', event: 'leave', desc: 'Home', tst: now, lat: 11, lon: 2 }), { qos: 1 })
    await fredPhone.publishAsync('owntracks/fred/phone/info', JSON.stringify({ _type: 'card', name: 'Fred' }), { qos: 1 })
    // The feed pushes in publish order: once this marker is in, nothing published before it is still coming.
    await fredPhone.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tid: 'fr', lat: 11.5 })), { qos: 1 })
    await waitFor('the marker location', () => got.some((m) => m.lat === 11.5))
    assert.deepEqual(got.map((m) => `${m._type} ${m.topic}`), ['location owntracks/fred/phone', 'location owntracks/fred/phone'], 'no transition, no card: jane may not read …/event or …/info over MQTT either')
    assert.equal(got[0].lat, 11)
    assert.equal(got[0].username, 'fred')
    assert.equal(got[0].device, 'phone')
    assert.match(String(got[0].isotst), /Z$/)
    await fredPhone.endAsync()
    ws.close()
  })

  test('a location posted in HTTP mode reaches the feed too, and an admin sees everything', async () => {
    const admin = await liveClient(hub.httpPort, as('admin'))
    const res = await hub.http('/pub', { ...as('fred'), method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Limit-U': 'fred', 'X-Limit-D': 'tablet' }, body: JSON.stringify(location({ tid: 'ft', lat: 12 })) })
    assert.equal(res.status, 200)
    await waitFor('the posted location', () => admin.got.length >= 1)
    assert.equal(admin.got[0].topic, 'owntracks/fred/tablet')
    assert.equal(admin.got[0].lat, 12)
    admin.ws.close()
  })
})

describe('/ws/last keeps connections alive', () => {
  let root: string
  let server: Server
  let live: WsLast
  let history: LevelHistory

  before(async () => {
    root = tempDir()
    const users = new UserRegistry(join(root, 'passwd'), join(root, 'admins'))
    await users.set('jane', 'jane-pw')
    history = await LevelHistory.open(join(root, 'history'))
    // the feed's own parts, with a ping every 50 ms instead of every 30 s
    live = new WsLast({ users, access: new AccessControl(join(root, 'acl'), 'owntracks'), history, base: 'owntracks', log: createLogger({ logLevel: 'error', logFormat: 'text' }), events: new EventEmitter(), pingMs: 50,
      identify: (req) => identifyBasic(req.headers.authorization, users, 'ws') })
    const router = new UpgradeRouter()
    router.on('/ws/last', live.handleUpgrade)
    server = createServer((_req, res) => res.end())
    router.attach(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  })
  after(async () => {
    live.close()
    await new Promise((r) => server.close(r))
    await history.close()
    rmSync(root, { recursive: true, force: true })
  })

  test('the server pings each client, so proxies and NATs keep the connection open', async () => {
    const { ws } = await liveClient((server.address() as AddressInfo).port, as('jane'))
    let pings = 0
    ws.on('ping', () => { pings++ })
    await waitFor('two pings', () => pings >= 2)
    assert.equal(ws.readyState, WebSocket.OPEN, 'answering them keeps it open')
    ws.close()
  })
})
