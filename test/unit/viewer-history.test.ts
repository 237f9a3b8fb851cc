import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { tempDir } from '../helpers/hub.js'
import { AccessControl, type Identity } from '../../src/access/access.js'
import { PlaceNames } from '../../src/geo/place-names.js'
import type { PlaceDetail, PlaceFields } from '../../src/geo/types.js'
import { FORMATS, formatStream } from '../../src/store/formats/index.js'
import { LevelHistory } from '../../src/store/history-level.js'
import type { HistoryRecord } from '../../src/store/types.js'
import { deviceView, locationsBody, servedPoints, type LocationsQuery } from '../../src/store/viewer-history.js'

/** Names without the offline data (it loads in the background, and a test must not depend on when). */
class StubNames extends PlaceNames {
  override of(lat: number, _lon: number, _detail?: PlaceDetail): PlaceFields {
    return lat > 52.51 ? { cc: 'DE', tzname: 'Europe/Berlin', locality: 'Mitte' } : { cc: 'DE', tzname: 'Europe/Berlin' }
  }
}

const who = (user: string): Identity => ({ user, admin: false, clientId: `${user}-phone` })

describe("a device's history as each viewer reads it, spliced or not", () => {
  const dir = tempDir('othub-viewer-history-')
  const acl = join(dir, 'acl')
  let history: LevelHistory
  let access: AccessControl
  const names = new StubNames()
  const base = Date.UTC(2026, 0, 5, 7) / 1000

  before(async () => {
    mkdirSync(acl)
    // lisa shares with the parents and, on a 1 km grid, with grandma; mum is an admin
    writeFileSync(join(acl, 'sharing.yml'), [
      'people: [mum, dad, lisa, grandma]',
      'admins: [mum]',
      'groups:',
      '  parents: [mum, dad]',
      'shares:',
      '  - from: lisa',
      '    to: parents',
      '  - from: lisa',
      '    to: grandma',
      '    precision: 1km',
      '',
    ].join('\n'))
    access = new AccessControl(acl, 'owntracks')
    access.load()
    history = await LevelHistory.open(join(dir, 'history'))
    const records: HistoryRecord[] = []
    for (let i = 0; i < 2500; i++) {
      const message: Record<string, unknown> = { _type: 'location', tid: 'li', lat: 52.5 + (i % 40) / 1000, lon: 13.4 + (i % 30) / 1000, acc: 5 + (i % 20), batt: 90 - (i % 50), conn: 'w', tst: base + i * 30 }
      if (i % 7 === 0) message.inregions = ['school']
      if (i % 11 === 0) message.addr = 'what the phone says'
      records.push({ user: 'lisa', device: 'phone', topic: 'owntracks/lisa/phone', message: message as never })
    }
    await history.write(records)
  })
  after(async () => { await history.close(); rmSync(dir, { recursive: true, force: true }) })

  test('the owner and an admin see it as published; a share, even the full one of the parents, does not', () => {
    const published = (user: string) => deviceView(access, who(user), 'lisa', 'phone')?.asPublished?.()
    assert.equal(published('lisa'), true)
    assert.equal(published('mum'), true)
    assert.equal(published('dad'), false)
    assert.equal(published('grandma'), false)
    assert.equal(deviceView(access, who('tom'), 'lisa', 'phone'), null)
  })

  test('a viewer who sees it as published gets each location unchanged from present()', () => {
    const loc = { _type: 'location', lat: 52.5, lon: 13.4, tst: base }
    for (const user of ['lisa', 'mum']) assert.equal(deviceView(access, who(user), 'lisa', 'phone')!.present(loc), loc)
  })

  for (const format of ['json', 'geojson', 'csv', 'gpx']) {
    test(`${format}: every viewer gets the bytes of the point-by-point path`, async () => {
      const q: LocationsQuery = { user: 'lisa', device: 'phone', from: base + 600, to: base + 70_000, format: FORMATS[format] }
      for (const user of ['lisa', 'mum', 'dad', 'grandma']) {
        const view = deviceView(access, who(user), 'lisa', 'phone')!
        const now = await new Response(locationsBody(history, view, q, names).body).text()
        const pointByPoint = await new Response(formatStream(servedPoints(history, view, q, names), q.format, q)).text()
        assert.equal(now, pointByPoint, `${user}, ${format}`)
        assert.ok(now.length > 10_000, `${user} got the points`)
      }
    })
  }

  test('the newest N (limit) read the same way', async () => {
    const q: LocationsQuery = { user: 'lisa', device: 'phone', from: 0, to: base + 1e6, limit: 1500, format: FORMATS.json }
    const view = deviceView(access, who('lisa'), 'lisa', 'phone')!
    const body = JSON.parse(await new Response(locationsBody(history, view, q, names).body).text()) as { count: number; data: { tst: number }[] }
    assert.equal(body.count, 1500)
    assert.equal(body.data[0].tst, base + 1000 * 30)
    assert.equal(await new Response(locationsBody(history, view, q, names).body).text(), await new Response(formatStream(servedPoints(history, view, q, names), q.format, q)).text())
  })
})
