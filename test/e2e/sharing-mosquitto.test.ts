import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, startHub, type RunningHub, tempDir } from '../helpers/hub.js'
import { mosquittoPub, mosquittoSub, requireTool } from '../helpers/mosquitto.js'
import { run, startMosquittoWithAcl, type AclMosquitto } from '../helpers/mosquitto-broker.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

// The owntracks booklet's ACL example, verbatim.
const BOOKLET = `user jjolie
topic owntracks/jjolie/#

user fred
topic read owntracks/jjolie/5s
topic owntracks/fred/nexus/#
`

describe("the booklet's Mosquitto ACL through 'acl import'", () => {
  let hub: RunningHub
  let dir: string
  before(async () => {
    hub = await startHub()
    dir = tempDir('othub-import-')
    await addUsers(hub, 'jjolie', 'fred')
  })
  after(async () => {
    await hub?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('turns into one share, and the running hub applies it', async () => {
    const file = join(dir, 'booklet.acl')
    writeFileSync(file, BOOKLET)
    const since = hub.logs().length
    const r = await runCli(['acl', 'import', file, '--data', hub.dataDir, '--acl-dir', hub.aclDir])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Imported .*booklet\.acl: 1 share\(s\) and 2 people/)
    assert.match(r.stdout, /left out 2 line\(s\) granting users their own topics .*line 2, line 6/)
    const rules = readFileSync(join(hub.aclDir, 'sharing.yml'), 'utf8')
    assert.match(rules, /# imported from booklet\.acl on .*\n  - from: jjolie\n    to: \[fred\]\n    devices: \[5s\]\n    include: \[location\]\n/)
    assert.ok(!existsSync(join(hub.aclDir, 'booklet.acl')), 'no line needed to stay Mosquitto syntax')
    await hub.waitForLog(/Reloaded access rules/, 5000, since)
  })

  test("mosquitto_sub -u fred -t 'owntracks/#' receives owntracks/jjolie/5s and nothing else of jjolie's", async () => {
    const sub = await mosquittoSub(['-p', String(hub.mqttPort), '-u', 'fred', '-P', pw('fred'), '-v', '-t', 'owntracks/#'])
    try {
      const fix = JSON.stringify({ _type: 'location', lat: 48.85837, lon: 2.294481, tst: 1_700_000_000 })
      const sent: Record<string, string> = {
        'owntracks/jjolie/5s': fix,
        'owntracks/jjolie/5s/event': JSON.stringify({ _type: 'transition', event: 'leave', desc: 'Home', tst: 1_700_000_000 }),
        'owntracks/jjolie/5s/info': JSON.stringify({ _type: 'card', name: 'J. Jolie' }),
        'owntracks/jjolie/iphone': fix,
        'owntracks/jjolie/5s/waypoints': JSON.stringify({ _type: 'waypoints', waypoints: [] }),
      }
      for (const [t, m] of Object.entries(sent)) {
        const p = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'jjolie', '-P', pw('jjolie'), '-q', '1', '-t', t, '-m', m])
        assert.equal(p.code, 0, p.stderr)
      }
      // fred's own publish comes last: once it is there, anything of jjolie's would have been too
      const p = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'fred', '-P', pw('fred'), '-q', '1', '-t', 'owntracks/fred/nexus', '-m', 'fred here'])
      assert.equal(p.code, 0, p.stderr)
      await sub.waitForLines(2)
      assert.deepEqual(sub.lines, [`owntracks/jjolie/5s ${fix}`, 'owntracks/fred/nexus fred here'])
    } finally { await sub.stop() }
  })

  test("'acl check' says why", async () => {
    const yes = await runCli(['acl', 'check', 'fred', 'owntracks/jjolie/5s', 'read', '--data', hub.dataDir, '--acl-dir', hub.aclDir])
    assert.equal(yes.code, 0)
    assert.match(yes.stdout, /^allowed: fred may read owntracks\/jjolie\/5s\n  by: jjolie's 5s shared with fred \(.*sharing\.yml line \d+\)\n  sees: exact positions; all history\n$/)
    const no = await runCli(['acl', 'check', 'fred', 'owntracks/jjolie/5s/event', 'read', '--data', hub.dataDir, '--acl-dir', hub.aclDir])
    assert.equal(no.code, 1)
    assert.match(no.stdout, /^denied: fred may not read owntracks\/jjolie\/5s\/event\n  because: no rule grants it\n$/)
  })
})

const RULES = `groups:
  parents: [jane, fred]
shares:
  - from: jane
    to: grandma
    devices: [phone]
    include: [location, card]
    precision: 1km
    history: false
  - from: kid
    to: parents
    until: 2099-01-01T00:00Z
  - from: anna
    to: grandma
    until: 2001-01-01T00:00Z
commands:
  - from: parents
    to: kid
    devices: [phone]
`

const FAMILY_ACL = `pattern read devices/%c/#
pattern deny owntracks/%u/secret

user fred
topic deny owntracks/jane/tablet
topic read home/#

user grandma
topic write owntracks/grandma/album/#
`

interface Case { user: string; topic: string; want: 'read' | 'write'; expected: boolean; why: string }

const CASES: Case[] = [
  { user: 'grandma', topic: 'owntracks/jane/phone', want: 'read', expected: true, why: 'share, blurred' },
  { user: 'grandma', topic: 'owntracks/jane/phone/info', want: 'read', expected: true, why: 'share includes the card' },
  { user: 'grandma', topic: 'owntracks/jane/phone/event', want: 'read', expected: false, why: 'no events on a blurred share' },
  { user: 'grandma', topic: 'owntracks/jane/tablet', want: 'read', expected: false, why: 'only the phone is shared' },
  { user: 'grandma', topic: 'owntracks/anna/phone', want: 'read', expected: false, why: 'ended share' },
  { user: 'fred', topic: 'owntracks/jane/phone', want: 'read', expected: true, why: 'group' },
  { user: 'fred', topic: 'owntracks/jane/tablet', want: 'read', expected: false, why: 'a deny line beats the group' },
  { user: 'fred', topic: 'owntracks/kid/phone/event', want: 'read', expected: true, why: 'share to a group' },
  { user: 'kid', topic: 'owntracks/jane/phone/info', want: 'read', expected: false, why: 'kid is not a parent' },
  { user: 'fred', topic: 'home/lights', want: 'read', expected: true, why: '.acl grant' },
  { user: 'jane', topic: 'home/lights', want: 'read', expected: false, why: 'not for jane' },
  { user: 'anna', topic: 'owntracks/anna/secret', want: 'read', expected: false, why: 'pattern deny beats own topics' },
  { user: 'anna', topic: 'owntracks/anna/phone', want: 'read', expected: true, why: 'own topics' },
  { user: 'mum', topic: 'owntracks/kid/tablet', want: 'read', expected: true, why: 'admin' },
  { user: 'fred', topic: 'owntracks/kid/phone/cmd', want: 'write', expected: true, why: 'command permission via group' },
  { user: 'kid', topic: 'owntracks/jane/phone/cmd', want: 'write', expected: false, why: 'not the other way round' },
  { user: 'grandma', topic: 'owntracks/fred/phone/cmd', want: 'write', expected: false, why: 'no command permission' },
  { user: 'fred', topic: 'owntracks/kid/tablet/cmd', want: 'write', expected: false, why: 'phone only' },
  { user: 'fred', topic: 'owntracks/jane/laptop', want: 'write', expected: false, why: 'a share is read-only' },
  { user: 'kid', topic: 'owntracks/kid/phone', want: 'write', expected: true, why: 'own topics' },
  { user: 'grandma', topic: 'owntracks/grandma/album/1', want: 'write', expected: true, why: '.acl grant' },
  { user: 'anna', topic: 'owntracks/anna/secret/x', want: 'write', expected: true, why: 'the deny names only .../secret' },
  { user: 'mum', topic: 'owntracks/jane/x', want: 'write', expected: true, why: 'admin' },
]

/**
 * Asks a broker every case with mosquitto_pub/sub: reads by planting a retained location and
 * subscribing for retained messages only; writes by publishing retained and looking with `plant`'s
 * connection (one that may read and write everything).
 */
async function ask(port: number, plant: string[]): Promise<boolean[]> {
  const out = new Array<boolean>(CASES.length)
  const creds = (u: string) => ['-h', '127.0.0.1', '-p', String(port), '-u', u, '-P', pw(u)]
  // What the apps publish on each kind of topic: a share shows a part's own kind of message only.
  const planted = (t: string) => JSON.stringify(t.endsWith('/info') ? { _type: 'card', name: 'Jane' }
    : t.endsWith('/event') ? { _type: 'transition', event: 'leave', tst: 1_700_000_000 }
      : { _type: 'location', lat: 48.85837, lon: 2.294481, tst: 1_700_000_000 })
  for (const t of new Set(CASES.filter((c) => c.want === 'read').map((c) => c.topic))) {
    const r = await run('mosquitto_pub', [...plant, '-t', t, '-m', planted(t), '-r', '-q', '1'])
    assert.equal(r.code, 0, r.stderr)
  }
  await Promise.all(CASES.map(async (c, i) => {
    if (c.want === 'read') {
      const r = await run('mosquitto_sub', [...creds(c.user), '-i', `${c.user}-r${i}`, '-t', c.topic, '--retained-only', '-C', '1', '-W', '2'])
      out[i] = r.stdout.includes('"_type":')
    } else {
      const r = await run('mosquitto_pub', [...creds(c.user), '-i', `${c.user}-w${i}`, '-t', c.topic, '-m', `w${i}`, '-r', '-q', '1'])
      assert.equal(r.code, 0, `${c.user} publish: ${r.stderr}`)
    }
  }))
  await Promise.all(CASES.map(async (c, i) => {
    if (c.want !== 'write') return
    const r = await run('mosquitto_sub', [...plant, '-t', c.topic, '--retained-only', '-C', '1', '-W', '2'])
    out[i] = r.stdout.trim() === `w${i}`
  }))
  return out
}

describe("'acl show' loads in Debian's Mosquitto and decides as the hub does", () => {
  let hub: RunningHub
  let dir: string
  let mosquitto: AclMosquitto | null = null
  before(async () => {
    requireTool('mosquitto')
    hub = await startHub()
    dir = tempDir('othub-show-')
    await addUsers(hub, 'jane', 'fred', 'kid', 'grandma', 'anna')
    assert.equal((await runCli(['user', 'add', 'mum', '--password', pw('mum'), '--admin', '--data', hub.dataDir])).code, 0)
    await hub.waitForLog(/Reloaded users: 7 /)
    writeFileSync(join(hub.aclDir, 'family.acl'), FAMILY_ACL)
    assert.match(await writeRules(hub, RULES), /Reloaded access rules/)
  })
  after(async () => {
    await mosquitto?.stop()
    await hub?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('every case: the hub, Mosquitto with the printed file, and what the rules mean agree', async () => {
    const writes = CASES.filter((c) => c.want === 'write').map((c) => c.topic)
    assert.equal(new Set(writes).size, writes.length, 'one writer per topic: the retained message tells who got through')
    assert.ok(!CASES.some((c) => c.want === 'read' && writes.includes(c.topic)), 'writes must not disturb what reads look at')
    assert.ok(CASES.some((c) => c.expected) && CASES.some((c) => !c.expected))
    const show = await runCli(['acl', 'show', '--data', hub.dataDir, '--acl-dir', hub.aclDir])
    assert.equal(show.code, 0, show.stderr)
    assert.match(show.stdout, /# jane's phone shared with grandma .*precision 1km.*\n#   Mosquitto would deliver these unchanged; the hub blurs positions to 1km/)
    assert.match(show.stdout, /\nuser mum\n# admin .*\ntopic readwrite #\ntopic read \$SYS\/#\n/)
    assert.match(show.stdout, /# ended, no longer granted: anna's devices shared with grandma/)
    mosquitto = await startMosquittoWithAcl(dir, show.stdout, join(hub.dataDir, 'passwd')) // throws with Mosquitto's reason if it refuses the file

    const hubPlant = ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-u', 'mum', '-P', pw('mum')]
    const mqPlant = ['-h', '127.0.0.1', '-p', String(mosquitto.openPort)]
    const [fromHub, fromMosquitto] = await Promise.all([
      ask(hub.mqttPort, hubPlant),
      ask(mosquitto.aclPort, mqPlant),
    ])
    for (const [i, c] of CASES.entries()) {
      const label = `${c.user} ${c.want} ${c.topic} (${c.why})`
      assert.equal(fromMosquitto[i], c.expected, `Mosquitto: ${label}`)
      assert.equal(fromHub[i], c.expected, `hub: ${label}`)
    }
  })

  test("'acl show --user grandma' prints the patterns and grandma's block only", async () => {
    const r = await runCli(['acl', 'show', '--user', 'grandma', '--data', hub.dataDir, '--acl-dir', hub.aclDir])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /pattern readwrite owntracks\/%u\/#/)
    assert.match(r.stdout, /\nuser grandma\n/)
    assert.doesNotMatch(r.stdout, /\nuser (fred|jane|mum)\n/)
  })
})
