import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReplayDedupe } from '../../src/mqtt/replay-dedupe.js'

/*
 * A resuming persistent session may be handed one message twice, from its replayed queue and live
 * (test/cluster/two-nodes.test.ts shows it across nodes). What the check lets through, as a phone sees it.
 */
const msg = (brokerCounter: number, over: object = {}) => ({ brokerId: 'node-a', brokerCounter, qos: 1, retain: false, ...over })

test('a persistent session gets each message once, whichever copy comes first', () => {
  const d = new ReplayDedupe()
  const phone = { clean: false }
  assert.equal(d.first(phone, msg(3), false), true, 'live first')
  assert.equal(d.first(phone, msg(1), true), true)
  assert.equal(d.first(phone, msg(2), true), true)
  assert.equal(d.first(phone, msg(3), true), false, 'the replayed copy of the live one is refused')
  assert.equal(d.first(phone, msg(4), true), true, 'queue first')
  assert.equal(d.first(phone, msg(4), false), false, 'the late live copy is refused')
  assert.equal(d.first(phone, msg(3, { brokerId: 'node-b' }), false), true, 'another broker\'s message with the same counter is another message')
  assert.equal(d.first({ clean: false }, msg(3), false), true, 'another connection has its own record')
})

test('retained messages on SUBSCRIBE, QoS 0 and clean sessions are never held back', () => {
  const d = new ReplayDedupe()
  const phone = { clean: false }
  assert.equal(d.first(phone, msg(5), false), true)
  assert.equal(d.first(phone, msg(5, { retain: true }), false), true, 'a retained message comes again on every subscribe')
  assert.equal(d.first(phone, msg(6, { qos: 0 }), false), true)
  assert.equal(d.first(phone, msg(6, { qos: 0 }), false), true)
  const clean = { clean: true }
  assert.equal(d.first(clean, msg(7), false), true)
  assert.equal(d.first(clean, msg(7), false), true)
})

test('the record lasts only around the reconnect: an idle phone keeps nothing', () => {
  const d = new ReplayDedupe()
  const phone = { clean: false }
  assert.equal(d.first(phone, msg(8), false, 0), true)
  assert.equal(d.first(phone, msg(8), true, 9_000), false)
  assert.equal(d.first(phone, msg(8), true, 10_001), true, 'after the window nothing is remembered')
  assert.equal(d.first(phone, msg(8), true, 10_002), true)
})
