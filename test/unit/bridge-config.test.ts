import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { parseBridgeFile } from '../../src/bridge/config.js'

const parse = (text: string) => parseBridgeFile(text, 'bridges.conf')

describe('bridge file: Mosquitto bridge syntax', () => {
  test('a full section, with Mosquitto defaults for what is left out', () => {
    const { bridges, ignored } = parse(`
# a friend
connection friend
address broker.friend.example:8883
topic owntracks/# both 1
topic # in 0 owntracks/friend/ owntracks/
topic "" out 2 home/state remote/state
remote_username hub
remote_password s3cret
bridge_cafile /etc/friend-ca.crt
round_robin false
`)
    assert.equal(bridges.length, 1)
    const b = bridges[0]
    assert.deepEqual(b.addresses, [{ host: 'broker.friend.example', port: 8883 }])
    assert.deepEqual(b.topics, [
      { pattern: 'owntracks/#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' },
      { pattern: '#', direction: 'in', qos: 0, localPrefix: 'owntracks/friend/', remotePrefix: 'owntracks/' },
      { pattern: '', direction: 'out', qos: 2, localPrefix: 'home/state', remotePrefix: 'remote/state' },
    ])
    assert.equal(b.clientId, `${hostname()}.friend`)
    assert.equal(b.notificationTopic, `$SYS/broker/connection/${hostname()}.friend/state`)
    assert.deepEqual([b.cleanSession, b.keepalive, b.tryPrivate, b.notifications, b.restart], [false, 60, true, true, { base: 5, cap: 30 }])
    assert.deepEqual([b.username, b.password, b.cafile], ['hub', 's3cret', '/etc/friend-ca.crt'])
    assert.deepEqual(ignored, ['bridges.conf line 11: round_robin'])
  })

  test('topic defaults: direction out, QoS 0; addresses with default port, IPv6 in brackets', () => {
    const { bridges } = parse('connection a\naddress 10.0.0.1 [::1]:1884\ntopic x/#\nrestart_timeout 3\n')
    assert.deepEqual(bridges[0].addresses, [{ host: '10.0.0.1', port: 1883 }, { host: '::1', port: 1884 }])
    assert.deepEqual(bridges[0].topics[0], { pattern: 'x/#', direction: 'out', qos: 0, localPrefix: '', remotePrefix: '' })
    assert.deepEqual(bridges[0].restart, { base: 3, cap: 3 })
  })

  const errors: [string, RegExp][] = [
    ['address x\n', /line 1: 'address' before the first 'connection <name>'/],
    ['connection a\nadress x\n', /line 2: unknown bridge option 'adress' \(known: connection, address/],
    ['connection a\naddress x\ntopic a/# sideways 1\n', /line 3: topic direction must be in, out or both, got 'sideways'/],
    ['connection a\naddress x\ntopic a/# in 3\n', /line 3: topic QoS must be 0, 1 or 2, got '3'/],
    ['connection a\naddress x\ntopic a/# in 1 pre/+/ remote/\n', /line 3: topic prefix 'pre\/\+\/' may not contain wildcards/],
    ['connection a\naddress x\ntopic "" in 1 only-local/ ""\n', /empty pattern \(""\) needs both prefixes/],
    ['connection a\naddress x\ntopic a/#/b\n', /'#' only as the last level/],
    ['connection a\naddress x:99999\ntopic a\n', /port must be 1-65535/],
    ['connection a\ntopic a\n', /line 1: connection a: no 'address host\[:port\]'/],
    ['connection a\naddress x\n', /connection a: no 'topic' line/],
    ['connection a\naddress x\ntopic a\ncleansession maybe\n', /line 4: cleansession must be true or false, got 'maybe'/],
    ['connection a\naddress x\ntopic a\nconnection a\naddress y\ntopic b\n', /line 4: a second connection named 'a'/],
    ['connection a\naddress x\ntopic a\nbridge_certfile c.crt\n', /bridge_certfile and bridge_keyfile go together/],
  ]
  for (const [text, re] of errors) {
    test(`refused with the line and the fix: ${text.trim().split('\n').at(-1)}`, () => {
      assert.throws(() => parse(text), re)
    })
  }
})
