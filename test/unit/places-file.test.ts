import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parsePlaces } from '../../src/places/places-file.js'
import { RulesError } from '../../src/access/rules-file.js'

const o = { people: ['lisa', 'mum', 'dad'], groups: new Map([['family', ['lisa', 'mum', 'dad']]]), defaultTimezone: 'UTC' }
const parse = (text: string) => parsePlaces(text, 'acl/places.yml', o)
const fails = (text: string, line: number, re: RegExp) => assert.throws(() => parse(text), (e: unknown) => {
  assert.ok(e instanceof RulesError, String(e))
  assert.equal(e.line, line, e.message)
  assert.match(e.message, re)
  return true
})

describe('acl/places.yml', () => {
  test('a circle of lisa\'s and a polygon of the family, with defaults', () => {
    const r = parse([
      'places:',
      '  - name: school',
      '    owner: lisa',
      '    lat: 52.52',
      '    lon: 13.405',
      '    radius: 150m',
      '  - name: home',
      '    owner: family',
      '    polygon: [[52.5, 13.4], [52.5, 13.41], [52.51, 13.41]]',
    ].join('\n'))
    assert.equal(r.margin, 25)
    assert.equal(r.dwell, 0)
    assert.deepEqual(r.places[0].shape, { kind: 'circle', lat: 52.52, lon: 13.405, radius: 150 })
    assert.deepEqual(r.places[1].people, ['lisa', 'mum', 'dad'])
    assert.equal(r.places[1].id, 'family/home')
    assert.equal(r.places[1].where.line, 7)
  })

  test('alerts: enter/leave by default, not-arrived-by with days and quiet hours', () => {
    const r = parse([
      'timezone: Europe/Berlin',
      'places:',
      '  - { name: school, owner: lisa, lat: 52.52, lon: 13.4, radius: 1km }',
      'alerts:',
      '  - about: lisa',
      '    to: family',
      '  - about: lisa',
      '    to: mum',
      '    places: [school]',
      '    not-arrived-by: "08:30"',
      '    days: [mon, tue, wed, thu, fri]',
      '    quiet: 22:00-07:00',
      '    webhook: https://ntfy.sh/#family',
    ].join('\n'))
    assert.equal(r.timezone, 'Europe/Berlin')
    assert.deepEqual(r.alerts[0].on, ['enter', 'leave'])
    assert.deepEqual(r.alerts[0].to, ['lisa', 'mum', 'dad'])
    assert.equal(r.alerts[1].notArrivedBy, 8 * 60 + 30)
    assert.deepEqual(r.alerts[1].days, [1, 2, 3, 4, 5])
    assert.deepEqual(r.alerts[1].quiet, { from: 22 * 60, to: 7 * 60 })
    assert.deepEqual(r.alerts[1].on, [])
    assert.notEqual(r.alerts[0].id, r.alerts[1].id)
  })

  test('mistakes name the file, the line and what to do', () => {
    fails('places:\n  - name: school\n    owner: lisaa\n    lat: 1\n    lon: 2\n    radius: 100m\n', 3, /unknown person 'lisaa' \(known: dad, lisa, mum; groups: family\)/)
    fails('places:\n  - name: school\n    owner: lisa\n    lat: 1\n    lon: 2\n    radius: 5m\n', 6, /radius: '5m' is not a distance of 10m … 100km/)
    fails('places:\n  - name: school\n    owner: lisa\n    lat: 91\n    lon: 2\n    radius: 100m\n', 4, /lat: '91' is not a number from -90 to 90/)
    fails('places:\n  - name: school\n    owner: lisa\n    polygon: [[1, 2], [3, 4]]\n', 4, /at least three/)
    fails('places:\n  - name: a\n    owner: lisa\n    lat: 1\n    lon: 2\n    radius: 100m\n  - name: a\n    owner: lisa\n    lat: 1\n    lon: 2\n    radius: 100m\n', 7, /lisa has two places named 'a'/)
    fails('places:\n  - { name: school, owner: lisa, lat: 1, lon: 2, radius: 100m }\nalerts:\n  - about: lisa\n    to: mum\n    places: [schol]\n', 6, /lisa has no place 'schol' \(theirs: school\)/)
    fails('alerts:\n  - about: lisa\n    to: mum\n    not-arrived-by: "8.30"\n', 4, /is not a time of day/)
    fails('alerts:\n  - about: lisa\n    to: mum\n    quiet: late\n', 4, /quiet: 'late' is not a span of hours such as 22:00-07:00/)
    fails('alerts:\n  - about: lisa\n    to: mum\n    webhook: ftp://x\n', 4, /not an http\(s\) URL/)
    fails('timezone: Mars/Olympus\n', 1, /not a time zone/)
    fails('dwel: 1m\n', 1, /unknown key 'dwel' in the places file \(known: timezone, margin, dwell, places, alerts\)/)
  })
})
