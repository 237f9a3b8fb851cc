import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_NAME, nameProblem } from '../../src/owntracks/names.js'
import { parseDeviceTopic } from '../../src/owntracks/topics.js'

describe('user and device names at the edge', () => {
  test('ordinary names pass, whatever their script', () => {
    for (const n of ['jane', 'phone', 'Jane Doe', 'iPhone-13', 'café', 'ユーザー', 'x'.repeat(MAX_NAME)]) assert.equal(nameProblem(n), undefined, n)
  })

  test('empty, overlong, wildcards, the level separator and control characters are refused, saying which', () => {
    assert.equal(nameProblem(''), 'is empty')
    assert.equal(nameProblem('x'.repeat(MAX_NAME + 1)), `is longer than ${MAX_NAME} characters`)
    assert.equal(nameProblem('a/b'), "contains '/'")
    assert.equal(nameProblem('a+'), "contains '+'")
    assert.equal(nameProblem('#'), "contains '#'")
    assert.equal(nameProblem('phone\u000017000000000'), 'contains the control character U+0000')
    assert.equal(nameProblem('ph\none'), 'contains the control character U+000A')
    assert.equal(nameProblem('ph\u007fone'), 'contains the control character U+007F')
    assert.equal(nameProblem('ph\u0085one'), 'contains the control character U+0085')
  })

  test('a topic whose user or device level breaks the rule names no device', () => {
    assert.deepEqual(parseDeviceTopic('owntracks/jane/phone'), { user: 'jane', device: 'phone', subtopic: '' })
    assert.equal(parseDeviceTopic('owntracks/jane/ph\u0000one'), null)
    assert.equal(parseDeviceTopic('owntracks/ja\u0001ne/phone/event'), null)
    assert.equal(parseDeviceTopic(`owntracks/jane/${'p'.repeat(MAX_NAME + 1)}`), null)
  })
})
