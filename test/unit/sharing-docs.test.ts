import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseAclFile } from '../../src/access/acl-file.js'
import { importAcl } from '../../src/access/acl-import.js'
import { parseRules } from '../../src/access/rules-file.js'
import { parsePlaces } from '../../src/places/places-file.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const read = (path: string) => readFileSync(ROOT + path, 'utf8')
const USERS = ['mum', 'dad', 'lisa', 'tom', 'grandma', 'homeassistant']

describe('what acl/README.md and the examples say is what the hub reads', () => {
  test('acl/examples/sharing.yml loads, with no account needed', () => {
    const r = parseRules(read('acl/examples/sharing.yml'), 'acl/examples/sharing.yml', { now: Date.parse('2026-01-01T00:00Z') })
    assert.deepEqual([...r.groups.keys()], ['parents', 'kids'])
    const grandma = r.shares.find((s) => s.to.includes('grandma'))!
    assert.deepEqual([grandma.from, grandma.devices, grandma.precision?.text, grandma.history], ['lisa', ['phone'], '1km', false])
    assert.equal(grandma.where.line, 25, 'the line README.md quotes')
  })

  test('the examples do not expire: every share in acl/examples/sharing.yml is in force for years to come', () => {
    const inTenYears = Date.now() + 10 * 365 * 86400_000
    const r = parseRules(read('acl/examples/sharing.yml'), 'acl/examples/sharing.yml', { now: Date.now() })
    for (const s of r.shares) assert.ok(s.until === null || s.until > inTenYears, `the share from ${s.from} at line ${s.where.line} ends ${new Date(s.until!).toISOString()}`)
  })

  test('every yaml block of acl/README.md and README.md loads', () => {
    for (const doc of ['acl/README.md', 'README.md']) {
      // README.md has other YAML too (docker compose, the config file): the rules blocks are the ones with rules keys
      const blocks = [...read(doc).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1])
        .filter((b) => /^(people|admins|groups|shares|commands):/m.test(b))
      assert.ok(blocks.length > 0, doc)
      for (const b of blocks) parseRules(b, doc, { users: USERS, now: Date.now() })
    }
  })

  test('the places.yml blocks of acl/README.md load', () => {
    const blocks = [...read('acl/README.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /^(places|alerts):/m.test(b))
    assert.ok(blocks.length > 0)
    for (const b of blocks) {
      const r = parsePlaces(b, 'acl/README.md', { people: USERS, groups: new Map([['family', ['mum', 'dad', 'lisa']]]), defaultTimezone: 'UTC' })
      assert.ok(r.places.length > 0 && r.alerts.length > 0)
    }
  })

  test('acl/examples/booklet.acl imports into the share the README shows', () => {
    const r = importAcl(parseAclFile(read('acl/examples/booklet.acl'), 'booklet.acl'), 'owntracks')
    assert.deepEqual(r.shares, [{ from: 'jjolie', to: ['fred'], devices: ['5s'], include: ['location'] }])
    assert.match(read('acl/README.md'), /- \{from: jjolie, to: \[fred\], devices: \[5s\], include: \[location\]\}/)
  })
})
