import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { aclDecision } from '../../src/access/acl-eval.js'
import { parseAclFile } from '../../src/access/acl-file.js'
import { importAcl } from '../../src/access/acl-import.js'
import { compileRules, mergeAclFiles } from '../../src/access/rules-compile.js'
import { addRules, addShare, changeShare, removeShare, stampCreated } from '../../src/access/rules-edit.js'
import { RulesError, parseRules } from '../../src/access/rules-file.js'
import { parseDuration, parseInstant, parsePrecision } from '../../src/access/rules-values.js'

const NOW = Date.parse('2026-06-01T12:00:00Z')
const USERS = ['jane', 'fred', 'kid', 'mum']
const parse = (text: string) => parseRules(text, 'acl/sharing.yml', { users: USERS, now: NOW })

function refused(text: string): RulesError {
  try { parse(text) } catch (err) {
    assert.ok(err instanceof RulesError, String(err))
    return err
  }
  assert.fail(`accepted:\n${text}`)
}

describe('the rules file: what it says', () => {
  test('an empty file, or only comments, shares nothing', () => {
    for (const t of ['', '# nothing yet\n', 'shares:\ncommands:\n']) assert.deepEqual(parse(t).shares, [])
  })

  test('a group is every member shown to every other member', () => {
    const r = parse('groups:\n  family: [jane, fred, kid]\n')
    assert.deepEqual(r.shares.map((s) => [s.from, s.to, s.group, s.include]), [
      ['jane', ['fred', 'kid'], 'family', ['location', 'events', 'card']],
      ['fred', ['jane', 'kid'], 'family', ['location', 'events', 'card']],
      ['kid', ['jane', 'fred'], 'family', ['location', 'events', 'card']],
    ])
  })

  test('a share: named devices, a group as receiver, limits; `for` counts from `created`', () => {
    const r = parse(`people: [grandma]
groups:
  parents: [mum, fred]
shares:
  - from: kid
    to: [parents, grandma]
    devices: phone
    precision: geohash 5
    history: 7d
    for: 2h
    created: 2026-06-01T11:00Z
`)
    const s = r.shares.find((x) => !x.group)!
    assert.deepEqual(s.to, ['mum', 'fred', 'grandma'])
    assert.deepEqual(s.devices, ['phone'])
    assert.deepEqual(s.precision, { kind: 'geohash', length: 5, text: 'geohash 5' })
    assert.equal(s.history, 7 * 86400)
    assert.equal(s.until, Date.parse('2026-06-01T13:00Z'))
    assert.deepEqual(s.include, ['location', 'card'], 'a blurred share leaves out events, which name the place')
    assert.deepEqual(s.where, { file: 'acl/sharing.yml', line: 5 })
  })

  test('ids: explicit, or a digest that changes when the entry does and survives comments and layout', () => {
    const a = parse('shares:\n  - from: jane\n    to: fred\n').shares[0].id
    const b = parse('# hi\nshares:\n  - { from: jane, to: fred }   # same\n').shares[0].id
    const c = parse('shares:\n  - from: jane\n    to: kid\n').shares[0].id
    assert.equal(a, b)
    assert.notEqual(a, c)
    assert.equal(parse('shares:\n  - id: x1\n    from: jane\n    to: fred\n').shares[0].id, 'x1')
    const twins = parse('shares:\n  - from: jane\n    to: fred\n  - from: jane\n    to: fred\n').shares.map((s) => s.id)
    assert.notEqual(twins[0], twins[1])
  })

  test('mistakes are refused with the line and what to do', () => {
    const cases: [string, number, RegExp][] = [
      ['shares:\n  - from: jane\n    to: fredd\n', 3, /unknown person 'fredd' \(known: fred, jane, kid, mum\); add them to 'people:' or create the user/],
      ['shares:\n  - from: jane\n    to: fred\n    precison: 1km\n', 4, /unknown key 'precison' in a share \(known: id, from, to, devices, include, precision/],
      ['shares:\n  - from: jane\n    to: fred\n    precision: 1000\n', 4, /precision: 1000 has no unit; say e\.g\. 500m, 1km, geohash 5, or place/],
      ['shares:\n  - from: jane\n    to: fred\n    history: forever\n', 4, /history: 'forever' is not true, false or a duration/],
      ['shares:\n  - from: jane\n    to: fred\n    until: 2026-12-01 18:00\n', 4, /until: '2026-12-01 18:00' is not a time with a zone, e\.g\. 2026-12-01T18:00Z/],
      ['shares:\n  - from: jane\n    to: fred\n    until: 2026-12-01T18:00Z\n    for: 2h\n', 5, /either 'until' or 'for'/],
      ['shares:\n  - from: jane\n    to: fred\n    include: [location, events]\n    precision: 1km\n', 4, /events \(region transitions\) name the place/],
      ['shares:\n  - from: [jane, fred]\n    to: kid\n', 2, /'from' names the one person/],
      ['shares:\n  - from: jane\n', 2, /'to' is missing/],
      ['shares:\n  - from: jane\n    to: jane\n', 3, /'to' names only jane, who sees their own devices anyway/],
      ['commands:\n  - from: kid\n    to: kid\n', 2, /'from' names only kid/],
      ['shares:\n  from: jane\n', 1, /'shares' is a list/],
      ['groups:\n  fred: [jane, kid]\n', 2, /group 'fred' has the name of a person/],
      ['groups:\n  solo: [jane]\n', 2, /needs at least two members/],
      ['shares:\n  - from: jane\n    to: fred\n    devices: [a/b]\n', 4, /device 'a\/b' is not a topic level/],
      ['admins: [fredd]\n', 1, /unknown person 'fredd'/],
      ['shares: [\n', 1, /not valid YAML/],
      ['shares:\n  - from: jane\n    to: fred\nshares: []\n', 4, /'shares' appears twice in the rules file/],
      ['shares:\n  - from: jane\n    to: fred\n    to: kid\n', 4, /'to' appears twice in a share/],
      ['groups:\n  a: [jane, fred]\n  a: [kid, mum]\n', 3, /group 'a' is defined twice/],
      ['- jane\n', 1, /expected a mapping/],
    ]
    for (const [text, line, reason] of cases) {
      const err = refused(text)
      assert.equal(err.line, line, `${JSON.stringify(text)}: ${err.message}`)
      assert.match(err.message, /^acl\/sharing\.yml line \d+: /)
      assert.match(err.reason, reason)
    }
  })

  test('values: durations, instants with a zone, precisions', () => {
    assert.equal(parseDuration('90s'), 90)
    assert.equal(parseDuration('1h30m'), 5400)
    assert.equal(parseDuration('2w'), 14 * 86400)
    assert.equal(parseDuration('2 hours'), null)
    assert.equal(parseInstant('2026-12-01T18:00Z'), Date.UTC(2026, 11, 1, 18))
    assert.equal(parseInstant('2026-12-01T19:00+01:00'), Date.UTC(2026, 11, 1, 18))
    assert.equal(parseInstant('2026-12-01T18:00'), null)
    assert.deepEqual(parsePrecision('2.5km'), { kind: 'metres', metres: 2500, text: '2.5km' })
    assert.match(parsePrecision('5m') as string, /outside 10m/)
    assert.match(parsePrecision('geohash 12') as string, /outside 1 … 8/)
  })
})

describe('compiled: one Mosquitto acl_file with the shares as lines', () => {
  const acl = (text: string, files = '') => compileRules(parse(text), mergeAclFiles(files ? [parseAclFile(files, 'f.acl')] : []), 'owntracks', NOW).acl
  const can = (a: ReturnType<typeof acl>, user: string, topic: string, want: 'read' | 'write' = 'read') => aclDecision(a, user, user, topic, want).allowed

  test('a share reads the parts it includes, of the devices it names, and writes nothing', () => {
    const a = acl('shares:\n  - from: jane\n    to: fred\n    devices: [phone]\n    include: [location, card]\n')
    assert.ok(can(a, 'fred', 'owntracks/jane/phone'))
    assert.ok(can(a, 'fred', 'owntracks/jane/phone/info'))
    assert.ok(!can(a, 'fred', 'owntracks/jane/phone/event'))
    assert.ok(!can(a, 'fred', 'owntracks/jane/phone/waypoints'))
    assert.ok(!can(a, 'fred', 'owntracks/jane/phone/dump'), "never the phone's configuration")
    assert.ok(!can(a, 'fred', 'owntracks/jane/tablet'))
    assert.ok(!can(a, 'fred', 'owntracks/jane/phone', 'write'))
    assert.ok(!can(a, 'kid', 'owntracks/jane/phone'))
    assert.ok(can(a, 'kid', 'owntracks/kid/anything/below', 'write'), 'own topics')
  })

  test('a time box that has ended is left out, and the next end is known', () => {
    const t = compileRules(parse('shares:\n  - from: jane\n    to: fred\n    until: 2026-06-01T11:00Z\n  - from: jane\n    to: kid\n    until: 2026-06-01T13:00Z\n  - from: kid\n    to: fred\n    until: 2026-06-01T12:30Z\n'), mergeAclFiles([]), 'owntracks', NOW)
    assert.deepEqual(t.ended.map((s) => s.to), [['fred']])
    assert.equal(t.nextChange, Date.parse('2026-06-01T12:30Z'))
    assert.ok(!aclDecision(t.acl, 'fred', 'f', 'owntracks/jane/phone', 'read').allowed)
    assert.ok(aclDecision(t.acl, 'kid', 'k', 'owntracks/jane/phone', 'read').allowed)
  })

  test('commands: the senders may write the named cmd topics, nothing else', () => {
    const a = acl('groups:\n  parents: [mum, fred]\ncommands:\n  - from: parents\n    to: kid\n    devices: [phone]\n')
    assert.ok(can(a, 'mum', 'owntracks/kid/phone/cmd', 'write'))
    assert.ok(can(a, 'fred', 'owntracks/kid/phone/cmd', 'write'))
    assert.ok(!can(a, 'fred', 'owntracks/kid/tablet/cmd', 'write'))
    assert.ok(!can(a, 'fred', 'owntracks/kid/phone', 'write'))
    assert.ok(!can(a, 'jane', 'owntracks/kid/phone/cmd', 'write'))
    assert.ok(!can(a, 'fred', 'owntracks/kid/phone/cmd', 'read'))
  })

  test('Mosquitto lines add up with shares: a deny line wins over a share', () => {
    const a = acl('shares:\n  - from: jane\n    to: fred\n', 'user fred\ntopic deny owntracks/jane/tablet\n')
    assert.ok(can(a, 'fred', 'owntracks/jane/phone'))
    assert.ok(!can(a, 'fred', 'owntracks/jane/tablet'))
  })
})

describe('acl import: a Mosquitto acl_file becomes rules without changing a decision', () => {
  test('the booklet example: one share of the 5s location; own-topic lines go; nothing stays Mosquitto syntax', () => {
    const booklet = parseAclFile('user jjolie\ntopic owntracks/jjolie/#\n\nuser fred\ntopic read owntracks/jjolie/5s\ntopic owntracks/fred/nexus/#\n', 'booklet.acl')
    const r = importAcl(booklet, 'owntracks')
    assert.deepEqual(r.shares, [{ from: 'jjolie', to: ['fred'], devices: ['5s'], include: ['location'] }])
    assert.deepEqual(r.people, ['fred', 'jjolie'])
    assert.deepEqual(r.dropped.map((x) => x.source.line), [2, 6])
    assert.deepEqual([...r.kept.users.keys()], [])
  })

  test('decisions are the same before and after, for every kind of line', () => {
    const text = `topic read public/#
pattern deny owntracks/%u/secret
pattern read shared/%c
user fred
topic read owntracks/jane/+
topic read owntracks/jane/+/info
topic read owntracks/kid/phone
topic read owntracks/kid/phone/event
topic readwrite owntracks/kid/tablet
topic deny owntracks/jane/laptop
topic owntracks/fred/secret
topic owntracks/fred/#
topic read owntracks/jane/phone/waypoints
user kid
topic read owntracks/fred/+
`
    const original = parseAclFile(text, 'orig.acl')
    const r = importAcl(original, 'owntracks')
    const yaml = addRules('', 'acl/sharing.yml', r.people, r.shares)
    const after = compileRules(parseRules(yaml, 'acl/sharing.yml', { now: NOW }), r.kept, 'owntracks', NOW).acl
    const topics = ['owntracks/jane/phone', 'owntracks/jane/phone/info', 'owntracks/jane/phone/event', 'owntracks/jane/laptop', 'owntracks/kid/phone',
      'owntracks/kid/phone/event', 'owntracks/kid/phone/info', 'owntracks/kid/tablet', 'owntracks/fred/secret', 'owntracks/fred/x', 'owntracks/jane/phone/waypoints',
      'public/x', 'shared/fred', 'owntracks/kid/secret', 'owntracks/fred/phone']
    for (const user of ['fred', 'kid', 'jane']) {
      for (const topic of topics) {
        for (const want of ['read', 'write'] as const) {
          const before = aclDecision(original, user, user, topic, want).allowed
          // before the import, nothing granted own topics but the lines themselves: compare on what the file granted
          const own = topic.startsWith(`owntracks/${user}/`) && !topic.endsWith('/secret')
          assert.equal(aclDecision(after, user, user, topic, want).allowed, before || own, `${user} ${want} ${topic}`)
        }
      }
    }
    assert.ok(r.kept.users.get('fred')!.some((x) => x.topic === 'owntracks/fred/secret'), 'kept: a pattern deny touches it')
  })
})

describe('editing the file keeps what people wrote', () => {
  const FILE = `# family rules
shares:
  # fred sees jane
  - from: jane   # the sharer
    to: fred
    precision: 1km
  # kid sees jane
  - from: jane
    to: kid
`
  test('add, change, remove: comments and other entries stay; the result parses', () => {
    const added = addShare(FILE, 'f', { id: 'n1', from: 'kid', to: ['fred'], history: false })
    assert.ok(added.startsWith(FILE.replace('jane   #', 'jane #')), added)
    assert.match(added, /  - id: n1\n    from: kid\n    to: \[fred\]\n    history: false\n$/)
    const id = parse(FILE).shares[0].id
    const changed = changeShare(added, 'f', id, { precision: undefined, history: '7d' })!
    assert.match(changed, /  # fred sees jane\n  - id: \S+\n    from: jane # the sharer\n    to: fred\n    history: 7d\n  # kid sees jane\n/)
    assert.equal(parse(changed).shares[0].id, id, 'the id is written down, so it survives the change')
    const removed = removeShare(changed, 'f', id)!
    assert.ok(!removed.includes('fred sees jane') && removed.includes('# kid sees jane') && removed.includes('# family rules'))
    assert.equal(changeShare(FILE, 'f', 'nope', {}), null)
    assert.equal(parse(removed).shares.length, 2)
  })

  test('`for:` gets a `created:` stamp once', () => {
    const stamped = stampCreated('shares:\n  - from: jane\n    to: fred\n    for: 2h   # a walk\n', NOW)!
    assert.match(stamped, /for: 2h # a walk\n    created: 2026-06-01T12:00Z\n/)
    assert.equal(stampCreated(stamped, NOW + 5000), null)
    assert.equal(parse(stamped).shares[0].until, NOW + 2 * 3600 * 1000)
  })
})
