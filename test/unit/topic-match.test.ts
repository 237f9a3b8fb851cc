import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { filtersOverlap, topicMatches, validFilter, validTopic } from '../../src/access/topic-match.js'
import { requireTool } from '../helpers/mosquitto.js'
import { run, startPlainMosquitto, type Mosquitto } from '../helpers/mosquitto-broker.js'

describe('topicMatches (MQTT 3.1.1 section 4.7)', () => {
  test('exact names match only themselves', () => {
    assert.equal(topicMatches('owntracks/jane/phone', 'owntracks/jane/phone'), true)
    assert.equal(topicMatches('owntracks/jane/phone', 'owntracks/jane/phon'), false)
    assert.equal(topicMatches('owntracks/jane/phon', 'owntracks/jane/phone'), false)
    assert.equal(topicMatches('owntracks/jane', 'owntracks/jane/phone'), false)
    assert.equal(topicMatches('owntracks/jane/phone', 'owntracks/jane'), false)
    assert.equal(topicMatches('Owntracks/jane/phone', 'owntracks/jane/phone'), false)
  })

  test('# matches everything below, including the parent level itself', () => {
    assert.equal(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1'), true)
    assert.equal(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/ranking'), true)
    assert.equal(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon'), true)
    assert.equal(topicMatches('sport/tennis/player1/#', 'sport/tennis/player2'), false)
    assert.equal(topicMatches('sport/#', 'sport'), true)
    assert.equal(topicMatches('sport/#', 'sport/'), true)
    assert.equal(topicMatches('sport/#', 'sports'), false)
    assert.equal(topicMatches('#', 'sport/tennis'), true)
    assert.equal(topicMatches('#', '/'), true)
  })

  test('+ matches exactly one level, which may be empty', () => {
    assert.equal(topicMatches('sport/tennis/+', 'sport/tennis/player1'), true)
    assert.equal(topicMatches('sport/tennis/+', 'sport/tennis/player1/ranking'), false)
    assert.equal(topicMatches('sport/+', 'sport'), false)
    assert.equal(topicMatches('sport/+', 'sport/'), true)
    assert.equal(topicMatches('+', 'sport'), true)
    assert.equal(topicMatches('+/+', '/finance'), true)
    assert.equal(topicMatches('/+', '/finance'), true)
    assert.equal(topicMatches('+', '/finance'), false)
    assert.equal(topicMatches('owntracks/+/+', 'owntracks/jane/phone'), true)
    assert.equal(topicMatches('owntracks/+/+', 'owntracks/jane/phone/event'), false)
    assert.equal(topicMatches('owntracks/+/+/#', 'owntracks/jane/phone'), true)
    assert.equal(topicMatches('+/tennis/#', 'sport/tennis'), true)
    assert.equal(topicMatches('a/+/b', 'a//b'), true)
  })

  test('a leading wildcard does not reach $ topics; an explicit $ filter does', () => {
    assert.equal(topicMatches('#', '$SYS/broker/uptime'), false)
    assert.equal(topicMatches('+/monitor/Clients', '$SYS/monitor/Clients'), false)
    assert.equal(topicMatches('+/broker/uptime', '$SYS/broker/uptime'), false)
    assert.equal(topicMatches('$SYS/#', '$SYS/broker/uptime'), true)
    assert.equal(topicMatches('$SYS/monitor/+', '$SYS/monitor/Clients'), true)
    assert.equal(topicMatches('$SYS/#', '$SYS'), true)
  })

  test('invalid filters match nothing', () => {
    assert.equal(topicMatches('', 'a'), false)
    assert.equal(topicMatches('a', ''), false)
    assert.equal(topicMatches('a/#/b', 'a/x/b'), false)
    assert.equal(topicMatches('#/b', 'a/b'), false)
    assert.equal(topicMatches('a#', 'ab'), false)
    assert.equal(topicMatches('a/b#', 'a/b'), false)
    assert.equal(topicMatches('a+', 'ab'), false)
    assert.equal(topicMatches('+a', 'ba'), false)
    assert.equal(topicMatches('a/+b/c', 'a/xb/c'), false)
  })

  test('fast enough to run per delivery', () => {
    const filters = ['owntracks/+/+', 'owntracks/jane/#', 'owntracks/fred/nexus/#', '$SYS/#']
    const t = performance.now()
    let n = 0
    for (let i = 0; i < 250_000; i++) for (const f of filters) if (topicMatches(f, 'owntracks/jane/phone/event')) n++
    const ms = performance.now() - t
    assert.equal(n, 250_000)
    assert.ok(ms < 2000, `1M matches took ${ms.toFixed(0)} ms`)
  })
})

describe('validFilter / validTopic', () => {
  test('wildcards must fill a whole level; # only last', () => {
    for (const f of ['#', '+', 'a/#', '+/+', '/', '//', 'a//b', '$SYS/#', 'a b/c', 'sport/+/player1', '+/#', 'ü/€']) {
      assert.equal(validFilter(f), true, f)
    }
    for (const f of ['', 'a/#/b', '#/', '#/a', 'a#', 'a/b#', 'a+', '+a', 'a/+b', 'a/b+/c', '++', '##', 'a\u0000b']) {
      assert.equal(validFilter(f), false, JSON.stringify(f))
    }
    assert.equal(validFilter('a'.repeat(65535)), true)
    assert.equal(validFilter('a'.repeat(65536)), false)
  })

  test('topic names have no wildcards', () => {
    assert.equal(validTopic('owntracks/jane/phone'), true)
    assert.equal(validTopic('/'), true)
    assert.equal(validTopic(''), false)
    assert.equal(validTopic('owntracks/+/phone'), false)
    assert.equal(validTopic('owntracks/#'), false)
  })
})

describe('filtersOverlap', () => {
  test('two filters overlap when some topic matches both', () => {
    const yes: [string, string][] = [
      ['#', 'a/b'], ['a/#', 'a'], ['a/+', 'a/b'], ['+/b', 'a/+'], ['a/b', 'a/b'], ['owntracks/+/+', 'owntracks/jane/#'],
      ['$SYS/#', '$SYS/broker/+'], ['+/+', '/x'],
    ]
    const no: [string, string][] = [
      ['a/b', 'a/c'], ['a/+', 'a'], ['+/+', 'a'], ['a/b/c', 'a/+'], ['#', '$SYS/x'], ['+/broker', '$SYS/broker'],
      ['owntracks/jane/#', 'owntracks/fred/#'],
    ]
    for (const [a, b] of yes) {
      assert.equal(filtersOverlap(a, b), true, `${a} ~ ${b}`)
      assert.equal(filtersOverlap(b, a), true, `${b} ~ ${a}`)
    }
    for (const [a, b] of no) {
      assert.equal(filtersOverlap(a, b), false, `${a} !~ ${b}`)
      assert.equal(filtersOverlap(b, a), false, `${b} !~ ${a}`)
    }
  })
})




describe('agrees with a real mosquitto broker', () => {
  let broker: Mosquitto

  before(async () => {
    requireTool('mosquitto_pub')
    requireTool('mosquitto_sub')
    broker = await startPlainMosquitto()
  })
  after(async () => { await broker?.stop() })

  test('retained messages delivered per filter are exactly those topicMatches accepts', async () => {
    const topics = [
      'sport', 'sport/', 'sport/tennis', 'sport/tennis/player1', 'sport/tennis/player1/ranking',
      'sport/tennis/player1/score/wimbledon', 'sports', '/finance', 'finance', '/', 'a//b', 'a/b',
      '$foo', '$foo/bar', '$foo/bar/baz', 'owntracks/jane/phone', 'owntracks/jane/phone/event', 'owntracks/fred/nexus',
    ]
    const filters = [
      '#', 'sport/#', 'sport/tennis/player1/#', 'sport/tennis/+', 'sport/+', '+', '+/+', '/+', '/#', '+/tennis/#',
      'a/+/b', 'a//b', 'a/+', '$foo/#', '$foo/+', '+/bar', '+/+/baz', 'owntracks/+/+', 'owntracks/+/+/#',
      'owntracks/jane/phone', '+/#',
    ]
    const p = String(broker.port)
    for (const t of topics) {
      const r = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-t', t, '-m', 'x', '-r', '-q', '1'])
      assert.equal(r.code, 0, `publish ${t}: ${r.stderr}`)
    }
    const results = await Promise.all(filters.map((f, i) =>
      run('mosquitto_sub', ['-h', '127.0.0.1', '-p', p, '-i', `tm-${i}`, '-t', f, '-v', '--retained-only', '-W', '2'])))
    for (const [i, f] of filters.entries()) {
      const got = results[i].stdout.split('\n').filter(Boolean).map((l) => l.slice(0, l.lastIndexOf(' '))).sort()
      const want = topics.filter((t) => topicMatches(f, t)).sort()
      assert.deepEqual(want, got, `filter ${f}: mosquitto delivered ${JSON.stringify(got)}`)
    }
  })
})
