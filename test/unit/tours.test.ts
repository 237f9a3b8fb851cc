import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '../../src/log.js'
import { LevelHistory } from '../../src/store/history-level.js'
import { TourStore } from '../../src/tours/store.js'
import { Tours } from '../../src/tours/tours.js'
import { tempDir } from '../helpers/hub.js'

describe('Tours.handleRequest: what POST /pub (HTTP mode) and the MQTT hook answer', () => {
  let dir: string
  let history: LevelHistory
  let tours: Tours
  const logged: string[] = []
  const log = createLogger({ logLevel: 'info', logFormat: 'text' }, new Writable({ write(chunk, _e, cb) { logged.push(String(chunk)); cb() } }))
  const loc = (tst: number) => ({ user: 'fred', device: 'phone', topic: 'owntracks/fred/phone', message: { _type: 'location' as const, lat: 50, lon: 8, tst, batt: 50, SSID: 'home' } })

  before(async () => {
    dir = tempDir('othub-tours-')
    history = await LevelHistory.open(join(dir, 'history'))
    await history.write([100, 200, 300, 400, 500].map(loc))
    const store = new TourStore(join(dir, 'tours'), log)
    store.load()
    tours = new Tours(store, history, () => 'https://hub.example.net', log)
  })
  after(async () => { await history.close(); rmSync(dir, { recursive: true, force: true }) })

  test('tour → status 200 with the request\'s tour plus uuid and url; tours → this device\'s list; untour → no answer', async () => {
    const a = await tours.handleRequest('fred', 'phone', { _type: 'request', request: 'tour', tour: { label: 'L', from: '200', to: '400' } })
    const t = (a as { tour: { uuid: string; url: string } }).tour
    assert.deepEqual(a, { _type: 'cmd', action: 'response', request: 'tour', status: 200, tour: { label: 'L', from: '200', to: '400', uuid: t.uuid, url: `https://hub.example.net/view/${t.uuid}` } })
    const other = await tours.handleRequest('fred', 'tablet', { _type: 'request', request: 'tours' })
    assert.deepEqual(other, { _type: 'cmd', action: 'response', request: 'tours', tours: [], ntours: 0 }, 'only the asking device\'s tours')
    const list = await tours.handleRequest('fred', 'phone', { _type: 'request', request: 'tours' }) as { ntours: number; tours: { uuid: string }[] }
    assert.deepEqual([list.ntours, list.tours[0].uuid], [1, t.uuid])
    assert.equal(await tours.handleRequest('fred', 'tablet', { _type: 'request', request: 'untour', uuid: t.uuid }), null)
    assert.ok(tours.get(t.uuid), 'another device cannot untour it')
    assert.match(logged.join(''), /Untour from fred\/tablet ignored: no tour .* of that device/)
    assert.equal(await tours.handleRequest('fred', 'phone', { _type: 'request', request: 'untour', uuid: t.uuid }), null)
    assert.equal(tours.get(t.uuid), undefined)
    assert.deepEqual(readdirSync(join(dir, 'tours')), [])
  })

  test('the view holds positions inside the window only, and the last position only when it lies inside', async () => {
    const a = await tours.handleRequest('fred', 'phone', { _type: 'request', request: 'tour', tour: { label: 'w', from: '200', to: '400' } }) as { tour: { uuid: string } }
    const v = (await tours.view(a.tour.uuid))!
    assert.deepEqual(v.points, [[50, 8, 200], [50, 8, 300], [50, 8, 400]])
    assert.equal(v.last, null, 'the newest fix (500) is after the window')
    const b = await tours.handleRequest('fred', 'phone', { _type: 'request', request: 'tour', tour: { label: 'w2', from: '450', to: '600' } }) as { tour: { uuid: string } }
    assert.deepEqual((await tours.view(b.tour.uuid))!.last, { lat: 50, lon: 8, tst: 500 })
    assert.equal(await tours.view('00000000-0000-4000-8000-000000000000'), undefined)
  })

  test('unusable requests: status 400 naming the field; unknown requests: no answer', async () => {
    const bad = async (tour: unknown) => (await tours.handleRequest('fred', 'phone', { _type: 'request', request: 'tour', tour }) as { status: number; error: string })
    assert.deepEqual(await bad(undefined), { _type: 'cmd', action: 'response', request: 'tour', status: 400, error: "a tour request needs a 'tour' object with label, from and to" })
    assert.match((await bad({ label: 'x', to: '2024-01-01' })).error, /^tour\.from is missing/)
    assert.match((await bad({ label: 'x', from: '2024-13-01', to: '2024-01-01' })).error, /^'tour\.from': '2024-13-01' is not a time/)
    assert.match((await bad({ label: 'x', from: '2024-02-01', to: '2024-01-01' })).error, /^tour\.from \(2024-02-01\) is after tour\.to \(2024-01-01\)$/)
    assert.match((await bad({ label: 7, from: '1', to: '2' })).error, /^tour\.label must be text/)
    assert.equal(await tours.handleRequest('fred', 'phone', { _type: 'request', request: 'share' }), null)
    assert.match(logged.join(''), /Request 'share' from fred\/phone ignored/)
  })

  test('the apps\' UTC times without a zone are read as UTC; a partial "to" covers its whole period', async () => {
    const t = await tours.create('fred', 'phone', { label: 'day', from: '2022-08-01T05:35:58', to: '2022-08-02' })
    assert.deepEqual([t.fromTst, t.toTst], [Date.UTC(2022, 7, 1, 5, 35, 58) / 1000, Date.UTC(2022, 7, 3) / 1000 - 1])
  })

  test('tours are read back from disk; a damaged file is skipped with a warning', () => {
    writeFileSync(join(dir, 'tours', '11111111-1111-4111-8111-111111111111.json'), '{ not json')
    const again = new TourStore(join(dir, 'tours'), log)
    again.load()
    assert.equal(again.list('fred').length, tours.list('fred').length)
    assert.match(logged.join(''), /Tour file .*11111111-1111-4111-8111-111111111111\.json is unreadable .*that tour is not served/)
  })
})
