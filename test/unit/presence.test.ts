import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { PresenceTracker } from '../../src/places/presence.js'
import type { PlacesRules } from '../../src/places/types.js'

const SCHOOL = { lat: 52.52, lon: 13.405 }
const north = (m: number) => ({ lat: SCHOOL.lat + m / 111_195, lon: SCHOOL.lon })
const rules = (dwell: number, shape: PlacesRules['places'][0]['shape'] = { kind: 'circle', ...SCHOOL, radius: 150 }): PlacesRules => ({
  file: 'acl/places.yml', timezone: 'UTC', margin: 25, dwell, alerts: [],
  places: [{ id: 'lisa/school', name: 'school', owner: 'lisa', people: ['lisa'], shape, where: { file: 'acl/places.yml', line: 2 } }],
})

describe('the presence tracker', () => {
  test('without dwell: one enter, jitter inside the margin changes nothing, one leave', () => {
    const t = new PresenceTracker(rules(0))
    const seen = (tst: number, m: number, acc = 10) => t.observe('lisa', 'phone', { ...north(m), acc, tst }).map((x) => `${x.event}@${x.tst}`)
    assert.deepEqual(seen(1, 1000), [])
    assert.deepEqual(seen(2, 0), ['enter@2'])
    assert.deepEqual([seen(3, 160), seen(4, 140), seen(5, 170), seen(6, 149)].flat(), [])
    assert.deepEqual(seen(7, 2000, 300), []) // accuracy circle larger than the place
    assert.equal(t.current('lisa', 'phone')?.place.name, 'school')
    assert.deepEqual(seen(8, 180), ['leave@8'])
    assert.equal(t.current('lisa', 'phone'), undefined)
    assert.equal(t.awaySince('lisa', 'phone'), 8)
  })

  test('a fix arriving late (older tst) does not move the state back', () => {
    const t = new PresenceTracker(rules(0))
    t.observe('lisa', 'phone', { ...north(1000), tst: 10 })
    assert.equal(t.observe('lisa', 'phone', { ...north(0), tst: 20 }).length, 1)
    assert.deepEqual(t.observe('lisa', 'phone', { ...north(1000), tst: 15 }), [])
  })

  test('with dwell: a short visit does not count, a stay counts from its first fix', () => {
    const t = new PresenceTracker(rules(60))
    const seen = (tst: number, m: number) => t.observe('lisa', 'phone', { ...north(m), acc: 5, tst }).map((x) => `${x.event}@${x.tst}`)
    seen(0, 1000)
    assert.deepEqual([seen(10, 0), seen(30, 1000), seen(100, 1000)].flat(), [])
    assert.deepEqual([seen(200, 0), seen(259, 0)].flat(), [])
    assert.deepEqual(seen(260, 10), ['enter@200'])
  })

  test('a polygon: inside is inside, the margin counts from its edge', () => {
    const square: [number, number][] = [[52.519, 13.404], [52.519, 13.406], [52.521, 13.406], [52.521, 13.404]]
    const t = new PresenceTracker(rules(0, { kind: 'polygon', points: square }))
    assert.deepEqual(t.observe('lisa', 'phone', { lat: 52.52, lon: 13.405, acc: 5, tst: 1 }).map((x) => x.event), ['enter'])
    assert.deepEqual(t.observe('lisa', 'phone', { lat: 52.5211, lon: 13.405, acc: 5, tst: 2 }), []) // 11 m out: in the margin
    assert.deepEqual(t.observe('lisa', 'phone', { lat: 52.5215, lon: 13.405, acc: 5, tst: 3 }).map((x) => x.event), ['leave'])
  })
})

test('a presence-only history: each hub enter or leave becomes where the device then is; the phone\'s own and unknown places change nothing', async () => {
  const { VisitRecords } = await import('../../src/access/presence-view.js')
  const places: Record<string, { lat: number; lon: number; radius: number }> = { 'hub-home': { lat: 1, lon: 2, radius: 100 }, 'hub-school': { lat: 3, lon: 4, radius: 150 } }
  const fold = new VisitRecords('lisa', 'phone', { at: () => undefined, awaySince: () => undefined, place: (_u, rid) => places[rid] })
  const t = (event: string, desc: string, tst: number, more: Record<string, unknown> = {}) => fold.add({ _type: 'transition', event, desc, tst, rid: `hub-${desc}`, hub: true, tid: 'li', lat: 9, lon: 9, ...more })
  assert.deepEqual(t('enter', 'home', 100), { _type: 'location', tst: 100, tid: 'li', lat: 1, lon: 2, acc: 100, inregions: ['home'], presence: { place: 'home', since: 100 } })
  assert.equal(fold.add({ _type: 'transition', event: 'leave', desc: 'home', tst: 150, rid: 'r1', lat: 9, lon: 9 }), null) // the phone's own region
  assert.equal(t('enter', 'gym', 160), null) // no such place (any more)
  assert.deepEqual(t('enter', 'school', 200)?.presence, { place: 'school', since: 200 })
  assert.deepEqual(t('leave', 'school', 300)?.presence, { place: 'home', since: 100 }) // overlapping places: still at home
  assert.deepEqual(t('leave', 'home', 400), { _type: 'location', tst: 400, tid: 'li', presence: { place: null, since: 400 } })
  assert.equal(t('leave', 'home', 410), null) // nothing new
})
