import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseLimit } from '../../src/http/params.js'
import { TimeError, parseTime } from '../../src/owntracks/time.js'

const t = (s: string) => Date.parse(s) / 1000

test('from: every Recorder time form is read as UTC, with or without Z, or as epoch seconds', () => {
  assert.equal(parseTime('from', '2024-05-06T07:08:09', false), t('2024-05-06T07:08:09Z'))
  assert.equal(parseTime('from', '2024-05-06T07:08:09Z', false), t('2024-05-06T07:08:09Z'))
  assert.equal(parseTime('from', '2024-05-06T07:08', false), t('2024-05-06T07:08:00Z'))
  assert.equal(parseTime('from', '2024-05-06T07', false), t('2024-05-06T07:00:00Z'))
  assert.equal(parseTime('from', '2024-05-06', false), t('2024-05-06T00:00:00Z'))
  assert.equal(parseTime('from', '2024-05', false), t('2024-05-01T00:00:00Z'))
  assert.equal(parseTime('from', '1714978089', false), 1714978089)
})

test('to: a partial time means the end of that minute, hour, day or month', () => {
  assert.equal(parseTime('to', '2024-05-06T07:08:09', true), t('2024-05-06T07:08:09Z'))
  assert.equal(parseTime('to', '2024-05-06T07:08', true), t('2024-05-06T07:08:59Z'))
  assert.equal(parseTime('to', '2024-05-06T07', true), t('2024-05-06T07:59:59Z'))
  assert.equal(parseTime('to', '2024-05-06', true), t('2024-05-06T23:59:59Z'))
  assert.equal(parseTime('to', '2024-02', true), t('2024-02-29T23:59:59Z'))
})

test('nonsense times and limits are refused naming the parameter', () => {
  for (const bad of ['yesterday', '2024-13-01', '2024-02-30', '2024-05-06T25', '']) {
    assert.throws(() => parseTime('from', bad, false), (e: Error) => e instanceof TimeError && e.message.startsWith("parameter 'from'"))
  }
  assert.throws(() => parseLimit('0'), /parameter 'limit'/)
  assert.throws(() => parseLimit('ten'), /parameter 'limit'/)
  assert.equal(parseLimit('10'), 10)
  assert.equal(parseLimit(undefined), undefined)
})
