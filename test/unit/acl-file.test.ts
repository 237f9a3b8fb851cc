import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aclDecision } from '../../src/access/acl-eval.js'
import { AclSyntaxError, formatAclFile, parseAclFile } from '../../src/access/acl-file.js'
import type { AclFile } from '../../src/access/types.js'
import { hashPassword, writePasswdFile } from '../../src/users/passwd.js'
import { requireTool } from '../helpers/mosquitto.js'
import { MosquittoRefused, run, startMosquittoWithAcl, type AclMosquitto } from '../helpers/mosquitto-broker.js'
import { pw } from '../helpers/users.js'

const BOOKLET = `user jjolie
topic owntracks/jjolie/#

user fred
topic read owntracks/jjolie/5s
topic owntracks/fred/nexus/#
`

const can = (acl: AclFile, user: string | null, topic: string, want: 'read' | 'write', clientId = `${user ?? 'anon'}-phone`) =>
  aclDecision(acl, user, clientId, topic, want).allowed

/** Rules without where they came from, to compare two parses. */
const shape = (a: AclFile) => ({
  anonymous: a.anonymous.map(({ access, topic }) => ({ access, topic })),
  patterns: a.patterns.map(({ access, topic }) => ({ access, topic })),
  users: [...a.users].map(([u, rules]) => [u, rules.map(({ access, topic }) => ({ access, topic }))]),
})

describe('parseAclFile', () => {
  test('the booklet example: one block per user, default access readwrite', () => {
    const acl = parseAclFile(BOOKLET, 'acl/booklet.acl')
    assert.deepEqual(acl.anonymous, [])
    assert.deepEqual(acl.patterns, [])
    assert.deepEqual([...acl.users.keys()], ['jjolie', 'fred'])
    assert.deepEqual(acl.users.get('fred'), [
      { access: 'read', topic: 'owntracks/jjolie/5s', pattern: false, source: { file: 'acl/booklet.acl', line: 5 } },
      { access: 'readwrite', topic: 'owntracks/fred/nexus/#', pattern: false, source: { file: 'acl/booklet.acl', line: 6 } },
    ])
  })

  test('lines before the first user are for anonymous clients; patterns are global wherever they stand', () => {
    const acl = parseAclFile('# header\ntopic read public/#\npattern write owntracks/%u/#\nuser fred\npattern read devices/%c\ntopic fred/#\n', 'a.acl')
    assert.deepEqual(acl.anonymous.map((r) => r.topic), ['public/#'])
    assert.deepEqual(acl.patterns.map((r) => [r.access, r.topic, r.pattern]), [['write', 'owntracks/%u/#', true], ['read', 'devices/%c', true]])
    assert.deepEqual(acl.users.get('fred')!.map((r) => r.topic), ['fred/#'])
  })

  test('read like Mosquitto: the topic is the rest of the line, spaces included; trailing blanks and CR dropped', () => {
    const acl = parseAclFile('topic  read   places/home base  \r\ntopic deny  a b/c\t\nuser   fred smith \ntopic x\n', 'a.acl')
    assert.deepEqual(acl.anonymous.map((r) => [r.access, r.topic]), [['read', 'places/home base'], ['deny', 'a b/c']])
    assert.deepEqual([...acl.users.keys()], ['fred smith'])
    assert.deepEqual(acl.users.get('fred smith')!.map((r) => [r.access, r.topic]), [['readwrite', 'x']])
  })

  test('a single word after topic is the topic, even if it looks like an access word (as in Mosquitto)', () => {
    const acl = parseAclFile('topic read\ntopic deny \n', 'a.acl')
    assert.deepEqual(acl.anonymous.map((r) => [r.access, r.topic]), [['readwrite', 'read'], ['readwrite', 'deny']])
  })

  test('a user block may appear twice; the rules add up', () => {
    const acl = parseAclFile('user fred\ntopic a\nuser jane\ntopic b\nuser fred\ntopic c\nuser empty\n', 'a.acl')
    assert.deepEqual(acl.users.get('fred')!.map((r) => r.topic), ['a', 'c'])
    assert.deepEqual(acl.users.get('empty'), [])
  })

  test('a bad line is an AclSyntaxError with file, line and what to do', () => {
    const text = 'user fred\ntopic read owntracks/fred/#\ntopic raed owntracks/jjolie/#\n'
    assert.throws(() => parseAclFile(text, 'acl/family.acl'), (err: unknown) => {
      assert.ok(err instanceof AclSyntaxError)
      assert.equal(err.message, "acl/family.acl line 3: unknown access 'raed' (expected read, write, readwrite, deny)")
      assert.equal(err.file, 'acl/family.acl')
      assert.equal(err.line, 3)
      assert.equal(err.reason, "unknown access 'raed' (expected read, write, readwrite, deny)")
      return true
    })
  })

  test('every line Mosquitto refuses is refused, with its line number', () => {
    const bad: [string, RegExp][] = [
      ['usr fred', /line 2: unknown keyword 'usr' \(expected user, topic, pattern\)/],
      ['TOPIC read x', /line 2: unknown keyword 'TOPIC'/],
      ['topic\tread x', /line 2: .*tabs/],
      ['  # indented comment', /line 2: a comment must start at the beginning of the line/],
      ['user', /line 2: 'user' needs a user name/],
      ['user   ', /line 2: 'user' needs a user name/],
      ['topic', /line 2: 'topic' needs a topic filter/],
      ['pattern  ', /line 2: 'pattern' needs a topic filter/],
      ['topic read a/#/b', /line 2: invalid topic filter 'a\/#\/b'/],
      ['pattern read owntracks/%u+', /line 2: invalid topic filter/],
      ['topic read a/b#', /line 2: invalid topic filter/],
    ]
    for (const [line, re] of bad) {
      assert.throws(() => parseAclFile(`# first\n${line}\n`, 'x.acl'), (e: unknown) => e instanceof AclSyntaxError && re.test(e.message), line)
    }
    assert.throws(() => parseAclFile('\uFEFFuser fred\n', 'x.acl'), /byte order mark/)
  })
})

describe('aclDecision (Mosquitto 2 semantics)', () => {
  const booklet = parseAclFile(BOOKLET, 'acl/booklet.acl')

  test('booklet: fred may read owntracks/jjolie/5s and nothing else of jjolie\'s', () => {
    assert.equal(can(booklet, 'fred', 'owntracks/jjolie/5s', 'read'), true)
    assert.equal(can(booklet, 'fred', 'owntracks/jjolie/other', 'read'), false)
    assert.equal(can(booklet, 'fred', 'owntracks/jjolie/5s/event', 'read'), false)
    assert.equal(can(booklet, 'fred', 'owntracks/jjolie/5s', 'write'), false)
  })

  test('booklet: fred may write (and read) under owntracks/fred/nexus', () => {
    assert.equal(can(booklet, 'fred', 'owntracks/fred/nexus/x', 'write'), true)
    assert.equal(can(booklet, 'fred', 'owntracks/fred/nexus', 'write'), true)
    assert.equal(can(booklet, 'fred', 'owntracks/fred/nexus/x', 'read'), true)
    assert.equal(can(booklet, 'fred', 'owntracks/fred/other', 'write'), false)
  })

  test('booklet: jjolie owns owntracks/jjolie/#; others and anonymous get nothing', () => {
    assert.equal(can(booklet, 'jjolie', 'owntracks/jjolie/5s', 'write'), true)
    assert.equal(can(booklet, 'jjolie', 'owntracks/fred/nexus/x', 'read'), false)
    assert.equal(can(booklet, 'anna', 'owntracks/jjolie/5s', 'read'), false)
    assert.equal(can(booklet, null, 'owntracks/jjolie/5s', 'read'), false)
  })

  test('the deciding rule is returned, with file and line', () => {
    const d = aclDecision(booklet, 'fred', 'fred-phone', 'owntracks/jjolie/5s', 'read')
    assert.deepEqual(d.rule?.source, { file: 'acl/booklet.acl', line: 5 })
    const no = aclDecision(booklet, 'fred', 'fred-phone', 'owntracks/jjolie/x', 'read')
    assert.equal(no.allowed, false)
    assert.equal(no.rule, undefined)
    assert.ok(no.reason)
  })

  test('patterns: %u is the username, %c the client id', () => {
    const acl = parseAclFile('pattern write owntracks/%u/#\npattern read devices/%c/#\npattern read both/%u/%c\npattern read pct/%x/%\n', 'p.acl')
    assert.equal(can(acl, 'jane', 'owntracks/jane/phone', 'write'), true)
    assert.equal(can(acl, 'jane', 'owntracks/fred/phone', 'write'), false)
    assert.equal(can(acl, 'jane', 'owntracks/jane/phone', 'read'), false)
    assert.equal(can(acl, 'jane', 'devices/jane-tab/state', 'read', 'jane-tab'), true)
    assert.equal(can(acl, 'jane', 'devices/jane-tab/state', 'read', 'jane-phone'), false)
    assert.equal(can(acl, 'jane', 'both/jane/c1', 'read', 'c1'), true)
    assert.equal(can(acl, 'jane', 'pct/%x/%', 'read'), true, 'a % not followed by c or u is literal')
    // Mosquitto substitutes the raw name, so a '/' in it spans levels.
    assert.equal(can(acl, 'x/y', 'owntracks/x/y/phone', 'write'), true)
  })

  test('anonymous clients: their own lines, and patterns without %u (a %c pattern applies)', () => {
    const acl = parseAclFile('topic read public/#\npattern read devices/%c/#\npattern write owntracks/%u/#\npattern read all/#\nuser fred\ntopic fred/#\n', 'a.acl')
    assert.equal(can(acl, null, 'public/news', 'read'), true)
    assert.equal(can(acl, null, 'public/news', 'write'), false)
    assert.equal(can(acl, null, 'devices/kiosk/state', 'read', 'kiosk'), true)
    assert.equal(can(acl, null, 'all/x', 'read'), true)
    assert.equal(can(acl, null, 'owntracks/%u/x', 'write'), false)
    assert.equal(can(acl, null, 'fred/x', 'read'), false)
    assert.equal(can(acl, 'fred', 'public/news', 'read'), false, 'anonymous lines are not for users')
    assert.equal(can(acl, 'anna', 'all/x', 'read'), true, 'a user without a block still gets the patterns')
  })

  test('deny wins within a list, wherever it stands', () => {
    const acl = parseAclFile('user fred\ntopic read b/#\ntopic deny b/x\ntopic deny c/x\ntopic read c/#\ntopic deny d/#\n', 'd.acl')
    assert.equal(can(acl, 'fred', 'b/x', 'read'), false)
    assert.equal(can(acl, 'fred', 'c/x', 'read'), false)
    assert.equal(can(acl, 'fred', 'c/y', 'read'), true)
    assert.equal(can(acl, 'fred', 'd', 'write'), false)
    const d = aclDecision(acl, 'fred', 'f', 'b/x', 'read')
    assert.equal(d.rule?.access, 'deny')
    assert.equal(d.rule?.source.line, 3)
  })

  test('a user\'s own lines decide before patterns: their grant beats a pattern deny, their deny beats a pattern grant', () => {
    const acl = parseAclFile('pattern read all/#\npattern deny all/secret\nuser fred\ntopic read all/secret\ntopic deny all/open\n', 'q.acl')
    assert.equal(can(acl, 'fred', 'all/secret', 'read'), true)
    assert.equal(can(acl, 'fred', 'all/open', 'read'), false)
    assert.equal(can(acl, 'fred', 'all/else', 'read'), true)
    assert.equal(can(acl, 'anna', 'all/secret', 'read'), false)
    assert.equal(aclDecision(acl, 'anna', 'a', 'all/secret', 'read').rule?.access, 'deny')
  })

  test('with patterns present, a username or client id containing + or # is refused beyond its own lines', () => {
    const acl = parseAclFile('pattern read all/#\nuser a+b\ntopic read ab/#\n', 'w.acl')
    assert.equal(can(acl, 'a+b', 'all/x', 'read'), false)
    assert.equal(can(acl, 'a+b', 'ab/x', 'read'), true)
    assert.equal(can(acl, 'anna', 'all/x', 'read', 'phone#1'), false)
    assert.equal(can(acl, null, 'all/x', 'read', 'kiosk+'), false)
    assert.equal(can(acl, 'anna', 'all/x', 'read', 'phone-1'), true)
  })

  test('$ topics: # does not reach $SYS, and nobody publishes to $SYS', () => {
    const acl = parseAclFile('user admin\ntopic readwrite #\nuser ops\ntopic readwrite $SYS/#\n', 's.acl')
    assert.equal(can(acl, 'admin', '$SYS/broker/version', 'read'), false)
    assert.equal(can(acl, 'ops', '$SYS/broker/version', 'read'), true)
    assert.equal(can(acl, 'ops', '$SYS/broker/version', 'write'), false)
    assert.equal(can(acl, 'ops', '$SYS/broker/connection/b1/state', 'write'), true, 'Mosquitto lets bridge state through')
    assert.equal(can(acl, 'admin', '$share/g/t', 'write'), false)
  })

  test('results stay right across many clients (per-client pattern cache)', () => {
    const acl = parseAclFile('pattern read devices/%c/#\n', 'c.acl')
    for (let i = 0; i < 25_000; i++) {
      assert.equal(aclDecision(acl, 'u', `c${i}`, `devices/c${i}/x`, 'read').allowed, true)
      assert.equal(aclDecision(acl, 'u', `c${i}`, `devices/c${i + 1}/x`, 'read').allowed, false)
    }
  })
})

describe('formatAclFile', () => {
  const text = 'topic read public/#\n\nuser fred\ntopic read owntracks/jjolie/5s\npattern write owntracks/%u/#\ntopic deny a b/c\nuser jjolie\ntopic owntracks/jjolie/#\ntopic read\n'

  test('round trip: format then parse gives the same rules', () => {
    const acl = parseAclFile(text, 'in.acl')
    const out = formatAclFile(acl)
    assert.deepEqual(shape(parseAclFile(out, 'out.acl')), shape(acl))
    assert.equal(formatAclFile(parseAclFile(out, 'out.acl')), out)
    assert.match(out, /^topic read public\/#\n/)
    assert.match(out, /\ntopic readwrite read\n/, 'access is always written out')
  })

  test('refuses what Mosquitto could not read back', () => {
    const rule = { access: 'read' as const, pattern: false, source: { file: 'x', line: 1 } }
    assert.throws(() => formatAclFile({ anonymous: [{ ...rule, topic: 'a/#/b' }], users: new Map(), patterns: [] }))
    assert.throws(() => formatAclFile({ anonymous: [{ ...rule, topic: ' a' }], users: new Map(), patterns: [] }))
    assert.throws(() => formatAclFile({ anonymous: [], users: new Map([['a\nb', []]]), patterns: [] }))
  })
})

interface Case { user: string | null; clientId: string; topic: string; want: 'read' | 'write'; mosquitto: boolean; why: string }

const FIXTURE = `# anonymous clients: lines before the first user
topic read public/#
topic write public/inbox

pattern read devices/%c/#
pattern write owntracks/%u/#
pattern deny owntracks/%u/secret
pattern read family/#
pattern deny family/private
pattern write inbox/#

user jjolie
topic owntracks/jjolie/#

user fred
topic read owntracks/jjolie/5s
topic owntracks/fred/nexus/#
topic deny family/photos
topic read family/private
topic read shared/#
topic deny shared/x
topic read  places/home base

user a+b
topic write ab/#
`

/** What Debian's Mosquitto 2.0.11 does with FIXTURE (each line checked by hand once, then by this test). */
const CASES: Case[] = [
  { user: 'fred', clientId: 'fred-r1', topic: 'owntracks/jjolie/5s', want: 'read', mosquitto: true, why: 'booklet grant' },
  { user: 'fred', clientId: 'fred-r2', topic: 'owntracks/jjolie/other', want: 'read', mosquitto: false, why: 'booklet: nothing else of jjolie' },
  { user: 'fred', clientId: 'fred-r3', topic: 'family/photos', want: 'read', mosquitto: false, why: 'own deny beats pattern grant' },
  { user: 'fred', clientId: 'fred-r4', topic: 'family/private', want: 'read', mosquitto: true, why: 'own grant beats pattern deny' },
  { user: 'anna', clientId: 'anna-r1', topic: 'family/private', want: 'read', mosquitto: false, why: 'pattern deny wins among patterns' },
  { user: 'anna', clientId: 'anna-r2', topic: 'family/news', want: 'read', mosquitto: true, why: 'pattern without placeholder' },
  { user: 'anna', clientId: 'anna+r3', topic: 'family/news', want: 'read', mosquitto: false, why: 'client id with +' },
  { user: null, clientId: 'anon-r1', topic: 'public/news', want: 'read', mosquitto: true, why: 'anonymous line' },
  { user: null, clientId: 'anon-r2', topic: 'family/news', want: 'read', mosquitto: true, why: 'anonymous get plain patterns' },
  { user: null, clientId: 'anon-r3', topic: 'devices/anon-r3/state', want: 'read', mosquitto: true, why: 'anonymous get %c patterns' },
  { user: null, clientId: 'anon-r4', topic: 'devices/other/state', want: 'read', mosquitto: false, why: '%c is this client only' },
  { user: 'fred', clientId: 'fred-r5', topic: 'devices/fred-r5/state', want: 'read', mosquitto: true, why: '%c for a user' },
  { user: 'fred', clientId: 'fred-r6', topic: 'public/news', want: 'read', mosquitto: false, why: 'anonymous lines are not for users' },
  { user: 'fred', clientId: 'fred-r7', topic: 'shared/x', want: 'read', mosquitto: false, why: 'deny after grant still wins' },
  { user: 'fred', clientId: 'fred-r8', topic: 'shared/y', want: 'read', mosquitto: true, why: 'grant' },
  { user: 'fred', clientId: 'fred-r9', topic: 'places/home base', want: 'read', mosquitto: true, why: 'topic with a space' },
  { user: 'jjolie', clientId: 'jj-r1', topic: 'owntracks/jjolie/5s', want: 'read', mosquitto: true, why: 'readwrite includes read' },
  { user: 'fred', clientId: 'fred-w1', topic: 'owntracks/fred/nexus/loc', want: 'write', mosquitto: true, why: 'booklet grant' },
  { user: 'fred', clientId: 'fred-w2', topic: 'owntracks/jjolie/w', want: 'write', mosquitto: false, why: 'read-only grant elsewhere' },
  { user: 'jjolie', clientId: 'jj-w1', topic: 'owntracks/jjolie/secret', want: 'write', mosquitto: true, why: 'own grant beats pattern deny' },
  { user: 'anna', clientId: 'anna-w1', topic: 'owntracks/anna/secret', want: 'write', mosquitto: false, why: 'pattern deny' },
  { user: 'anna', clientId: 'anna-w2', topic: 'owntracks/anna/phone', want: 'write', mosquitto: true, why: '%u pattern' },
  { user: null, clientId: 'anon-w1', topic: 'public/inbox', want: 'write', mosquitto: true, why: 'anonymous write line' },
  { user: null, clientId: 'anon-w2', topic: 'public/other', want: 'write', mosquitto: false, why: 'anonymous read-only' },
  { user: null, clientId: 'anon-w3', topic: 'owntracks/%u/x', want: 'write', mosquitto: false, why: '%u patterns skip anonymous' },
  { user: 'anna', clientId: 'anna-w3', topic: 'inbox/anna', want: 'write', mosquitto: true, why: 'plain write pattern' },
  { user: 'a+b', clientId: 'ab-w1', topic: 'inbox/ab', want: 'write', mosquitto: false, why: 'username with + beyond own lines' },
  { user: 'a+b', clientId: 'ab-w2', topic: 'ab/x', want: 'write', mosquitto: true, why: 'own lines come before that check' },
]

/** Asks a running Mosquitto each case; reads and writes planted and inspected through the open port. */
async function askMosquitto(m: AclMosquitto, cases: Case[]): Promise<boolean[]> {
  const creds = (c: Case) => (c.user === null ? [] : ['-u', c.user, '-P', pw(c.user)])
  const base = (port: number) => ['-h', '127.0.0.1', '-p', String(port)]
  const answers = new Array<boolean>(cases.length)
  const reads = cases.map((c, i) => [c, i] as const).filter(([c]) => c.want === 'read')
  const writes = cases.map((c, i) => [c, i] as const).filter(([c]) => c.want === 'write')

  for (const t of new Set(reads.map(([c]) => c.topic))) {
    const r = await run('mosquitto_pub', [...base(m.openPort), '-t', t, '-m', `r:${t}`, '-r', '-q', '1'])
    assert.equal(r.code, 0, r.stderr)
  }
  await Promise.all(reads.map(async ([c, i]) => {
    const r = await run('mosquitto_sub', [...base(m.aclPort), ...creds(c), '-i', c.clientId, '-t', c.topic, '--retained-only', '-C', '1', '-W', '2'])
    assert.ok(!/refused|error/i.test(r.stderr) || /Timed out/.test(r.stderr), `${c.clientId}: ${r.stderr}`)
    answers[i] = r.stdout.trim() === `r:${c.topic}`
  }))

  await Promise.all(writes.map(async ([c]) => {
    const r = await run('mosquitto_pub', [...base(m.aclPort), ...creds(c), '-i', c.clientId, '-t', c.topic, '-m', `w:${c.clientId}`, '-r', '-q', '1'])
    // Mosquitto drops a denied publish silently and still acknowledges it.
    assert.equal(r.code, 0, `${c.clientId} publish: ${r.stderr}`)
  }))
  await Promise.all(writes.map(async ([c, i]) => {
    const r = await run('mosquitto_sub', [...base(m.openPort), '-i', `check-${c.clientId}`, '-t', c.topic, '--retained-only', '-C', '1', '-W', '2'])
    answers[i] = r.stdout.trim() === `w:${c.clientId}`
  }))
  return answers
}

describe('agrees with a real mosquitto 2 broker', () => {
  let dir: string
  const running: AclMosquitto[] = []

  before(async () => {
    requireTool('mosquitto')
    requireTool('mosquitto_pub')
    requireTool('mosquitto_sub')
    dir = await mkdtemp(join(tmpdir(), 'othub-acl-'))
  })
  after(async () => {
    for (const m of running) await m.stop()
    await rm(dir, { recursive: true, force: true })
  })

  test('the fixture and its formatAclFile rewrite decide every case as Mosquitto does', async () => {
    const ids = CASES.map((c) => c.clientId)
    assert.equal(new Set(ids).size, ids.length, 'client ids must be unique: parallel clients with one id would kick each other')
    const writeTopics = CASES.filter((c) => c.want === 'write').map((c) => c.topic)
    assert.equal(new Set(writeTopics).size, writeTopics.length)
    assert.ok(!CASES.some((c) => c.want === 'read' && writeTopics.includes(c.topic)))

    const passwd = join(dir, 'passwd')
    const users = [...new Set(CASES.map((c) => c.user).filter((u): u is string => u !== null))]
    await writePasswdFile(passwd, new Map(await Promise.all(users.map(async (u) => [u, await hashPassword(pw(u), 101)] as [string, string]))))

    const acl = parseAclFile(FIXTURE, 'fixture.acl')
    const formatted = formatAclFile(acl)
    const brokers: AclMosquitto[] = []
    for (const [i, text] of [FIXTURE, formatted].entries()) {
      const d = await mkdtemp(join(dir, i === 0 ? 'original-' : 'formatted-'))
      const m = await startMosquittoWithAcl(d, text, passwd)
      running.push(m)
      brokers.push(m)
    }
    const [fromOriginal, fromFormatted] = await Promise.all(brokers.map((m) => askMosquitto(m, CASES)))

    for (const [i, c] of CASES.entries()) {
      const label = `${c.user ?? '<anonymous>'} (${c.clientId}) ${c.want} ${c.topic} — ${c.why}`
      assert.equal(fromOriginal[i], c.mosquitto, `Mosquitto itself: ${label}`)
      assert.equal(fromFormatted[i], c.mosquitto, `Mosquitto with the formatted file: ${label}`)
      assert.equal(aclDecision(acl, c.user, c.clientId, c.topic, c.want).allowed, c.mosquitto, `aclDecision: ${label}`)
    }
  })

  test('Mosquitto loads exactly the files parseAclFile accepts', async () => {
    const lines = [
      'topic read x', 'topic x', 'topic read', '  topic read x', 'topic  read   a b', 'topic read x \r', 'topic read a\tb',
      'user fred\ntopic read a', 'user fred smith\ntopic x', '# c\n\n', 'pattern read a/%u', 'topic deny #', 'topic read $SYS/#',
      'topic raed x', 'foo bar', 'topic\tread x', 'TOPIC read x', ' # c', 'topic', 'user', 'user  ', 'pattern',
      'topic read a/#/b', 'topic read a/b+', 'user fred\ntopic',
    ]
    const verdicts = await Promise.all(lines.map(async (text, i) => {
      const d = await mkdtemp(join(dir, `load-${i}-`))
      const m = await startMosquittoWithAcl(d, text + '\n').catch((e: unknown) => {
        if (e instanceof MosquittoRefused) return null
        throw e
      })
      await m?.stop()
      let ours = true
      try { parseAclFile(text + '\n', 'x.acl') } catch (e) {
        assert.ok(e instanceof AclSyntaxError)
        ours = false
      }
      return { text, mosquitto: m !== null, ours }
    }))
    for (const v of verdicts) assert.equal(v.ours, v.mosquitto, `${JSON.stringify(v.text)}: Mosquitto ${v.mosquitto ? 'loads' : 'refuses'} it`)
    assert.ok(verdicts.some((v) => !v.mosquitto) && verdicts.some((v) => v.mosquitto))
  })
})
