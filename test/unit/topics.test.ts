import { test } from 'node:test'
import assert from 'node:assert/strict'
import { deviceTopic, parseDeviceTopic, subtopicForType } from '../../src/owntracks/topics.js'
import type { OwnTracksType } from '../../src/owntracks/types.js'

test('owntracks/jane/phone is jane\'s phone, subtopic empty', () => {
  assert.deepEqual(parseDeviceTopic('owntracks/jane/phone'), { user: 'jane', device: 'phone', subtopic: '' })
})

test('one more level is the subtopic', () => {
  for (const sub of ['event', 'info', 'cmd', 'waypoint', 'waypoints', 'dump', 'step', 'beacon', 'status', 'request']) {
    assert.deepEqual(parseDeviceTopic(`owntracks/jane/phone/${sub}`), { user: 'jane', device: 'phone', subtopic: sub })
  }
})

test('a configured base may contain slashes', () => {
  assert.deepEqual(parseDeviceTopic('ot/home/jane/phone', 'ot/home'), { user: 'jane', device: 'phone', subtopic: '' })
  assert.deepEqual(parseDeviceTopic('ot/home/jane/phone/event', 'ot/home'), { user: 'jane', device: 'phone', subtopic: 'event' })
  assert.equal(parseDeviceTopic('ot/home/jane', 'ot/home'), null)
  assert.equal(parseDeviceTopic('ot/jane/phone', 'ot/home'), null)
  assert.equal(parseDeviceTopic('ot/homer/jane/phone', 'ot/home'), null)
})

test('an empty base means topics start with the user', () => {
  assert.deepEqual(parseDeviceTopic('jane/phone/info', ''), { user: 'jane', device: 'phone', subtopic: 'info' })
  assert.equal(parseDeviceTopic('/jane/phone', ''), null)
})

test('a topic under another base is not a device topic', () => {
  assert.equal(parseDeviceTopic('other/jane/phone'), null)
  assert.equal(parseDeviceTopic('owntracksx/jane/phone'), null)
  assert.equal(parseDeviceTopic('Owntracks/jane/phone'), null)
  assert.equal(parseDeviceTopic('owntracks/jane/phone', 'ot'), null)
})

test('too few levels: owntracks, owntracks/, owntracks/x', () => {
  assert.equal(parseDeviceTopic('owntracks'), null)
  assert.equal(parseDeviceTopic('owntracks/'), null)
  assert.equal(parseDeviceTopic('owntracks/x'), null)
  assert.equal(parseDeviceTopic(''), null)
})

test('too many levels: owntracks/jane/phone/event/x and a 10-level topic', () => {
  assert.equal(parseDeviceTopic('owntracks/jane/phone/event/x'), null)
  assert.equal(parseDeviceTopic('owntracks/a/b/c/d/e/f/g/h/i'), null)
  assert.equal(parseDeviceTopic('a/b/c/d/e/f/g/h/i/j'), null)
})

test('empty levels are refused', () => {
  assert.equal(parseDeviceTopic('owntracks//phone'), null)
  assert.equal(parseDeviceTopic('owntracks/jane/'), null)
  assert.equal(parseDeviceTopic('owntracks/jane/phone/'), null)
  assert.equal(parseDeviceTopic('/owntracks/jane/phone'), null)
})

test('subscription filters with wildcards name no device', () => {
  assert.equal(parseDeviceTopic('owntracks/+/+'), null)
  assert.equal(parseDeviceTopic('owntracks/jane/#'), null)
  assert.equal(parseDeviceTopic('owntracks/+/phone/event'), null)
  assert.equal(parseDeviceTopic('owntracks/jane/phone/#'), null)
})

test('user and device names keep their spelling', () => {
  assert.deepEqual(parseDeviceTopic('owntracks/Jane Doe/iPhone 15/event'), { user: 'Jane Doe', device: 'iPhone 15', subtopic: 'event' })
})

test('deviceTopic builds what parseDeviceTopic reads', () => {
  assert.equal(deviceTopic('jane', 'phone'), 'owntracks/jane/phone')
  assert.equal(deviceTopic('jane', 'phone', 'cmd'), 'owntracks/jane/phone/cmd')
  assert.equal(deviceTopic('jane', 'phone', 'event', 'ot/home'), 'ot/home/jane/phone/event')
  assert.equal(deviceTopic('jane', 'phone', '', ''), 'jane/phone')
  for (const base of ['owntracks', 'ot/home', '']) {
    for (const sub of ['', 'info']) {
      assert.deepEqual(parseDeviceTopic(deviceTopic('jane', 'phone', sub, base), base), { user: 'jane', device: 'phone', subtopic: sub })
    }
  }
})

test('subtopicForType follows the apps', () => {
  const expected: Record<OwnTracksType, string> = {
    location: '',
    lwt: '',
    encrypted: '',
    transition: 'event',
    card: 'info',
    cmd: 'cmd',
    waypoint: 'waypoint',
    waypoints: 'waypoints',
    configuration: 'dump',
    steps: 'step',
    beacon: 'beacon',
    status: 'status',
    request: 'request',
  }
  for (const [type, sub] of Object.entries(expected)) {
    assert.equal(subtopicForType(type as OwnTracksType), sub, type)
  }
})
