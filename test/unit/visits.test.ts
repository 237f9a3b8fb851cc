import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { staysAndTrips } from '../../src/days/visits.js'
import { metres } from '../../src/days/geo.js'
import { HOME, SCHOOL, SHOP, WORK, week } from '../helpers/days.js'

const MONDAY = Date.UTC(2026, 10, 2) / 1000 // a Monday (UTC days, so the test needs no zone)

describe('visits and trips from a generated week (jitter, a red light, a gap)', () => {
  const days = week(MONDAY)

  test('every weekday yields home, school, work, shop, home — and the red light is no visit', () => {
    for (const [i, d] of days.slice(0, 5).entries()) {
      const { visits } = staysAndTrips(d.fixes)
      assert.equal(visits.length, d.stops.length, `day ${i}: ${visits.length} visits, expected ${d.stops.length}`)
      for (const [k, s] of d.stops.entries()) {
        const v = visits[k]
        assert.ok(metres(v.lat, v.lon, s.place.lat, s.place.lon) < 60, `day ${i} visit ${k} (${s.place.name}) is ${Math.round(metres(v.lat, v.lon, s.place.lat, s.place.lon))} m off`)
        assert.ok(Math.abs(v.from - s.from) <= 300 && Math.abs(v.to - s.to) <= 300, `day ${i} ${s.place.name}: ${v.from}-${v.to} vs ${s.from}-${s.to}`)
      }
    }
  })

  test('the gap at work on Wednesday is still one visit at work', () => {
    const { visits } = staysAndTrips(days[2].fixes)
    const work = visits[2]
    assert.ok(work.to - work.from > 7 * 3600, `work visit lasted ${(work.to - work.from) / 3600} h`)
  })

  test('trips lie between the visits, with distance and a mode guessed from speed', () => {
    const { trips } = staysAndTrips(days[0].fixes)
    assert.equal(trips.length, 4)
    const [toSchool, toWork, toShop, toHome] = trips
    const straight = (a: { lat: number; lon: number }, b: { lat: number; lon: number }) => metres(a.lat, a.lon, b.lat, b.lon)
    assert.ok(Math.abs(toSchool.distance - straight(HOME, SCHOOL)) < 400, `school run ${toSchool.distance} m, straight ${straight(HOME, SCHOOL)}`)
    assert.ok(Math.abs(toWork.distance - straight(SCHOOL, WORK)) < 800, `to work ${toWork.distance} m, straight ${straight(SCHOOL, WORK)}`)
    assert.deepEqual(trips.map((t) => t.mode), ['walk', 'bike', 'car', 'walk'])
    assert.ok(Math.abs(toShop.distance - straight(WORK, SHOP)) < 800)
    assert.ok(Math.abs(toHome.distance - straight(SHOP, HOME)) < 400)
    assert.ok(trips.every((t) => t.to > t.from && t.path.length >= 2))
  })

  test('a weekend at home is one visit and no trip', () => {
    const r = staysAndTrips(days[5].fixes)
    assert.equal(r.visits.length, 1)
    assert.equal(r.trips.length, 0)
  })

  test('fast trips are a car, a train and a plane', async () => {
    const { modeOf } = await import('../../src/days/visits.js')
    assert.equal(modeOf(50, 90), 'car')
    assert.equal(modeOf(120, 180), 'train')
    assert.equal(modeOf(600, 800), 'plane')
  })
})
