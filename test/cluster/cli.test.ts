import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '../helpers/cluster.js'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { client, location } from '../helpers/phone.js'
import { pw } from '../helpers/users.js'

const RULES = `# who sees whom: kept as text in the cluster, comments and all
people: [fred, jane, zoe]
groups:
  couple: [fred, jane]   # both ways
`
const PATHS = [
  '/api/0/locations?user=fred&device=phone&from=2023-11-01&to=2023-12-01',
  '/api/0/last?user=fred',
]

describe('moving an embedded hub into a cluster, and the CLI against the cluster', () => {
  let redis: RedisServer
  let pg: PostgresServer
  let url: string
  let embedded: RunningHub
  let node: RunningHub | undefined
  const want: Record<string, string> = {}
  const root = tempDir('othub-cluster-cli-')
  const get = (hub: RunningHub, path: string) => hub.http(path, { user: 'jane', password: pw('jane') })

  before(async () => {
    redis = await startRedis()
    pg = await startPostgres()
    url = await pg.createDatabase('cli')
    embedded = await startHub({ dataDir: join(root, 'embedded', 'data'), aclDir: join(root, 'embedded', 'acl'), startTimeoutMs: 60_000 })
    for (const u of ['fred', 'jane']) assert.equal((await runCli(['user', 'add', u, '--password', pw(u), '--data', embedded.dataDir])).code, 0)
    writeFileSync(join(embedded.aclDir, 'sharing.yml'), RULES)
    await embedded.waitForLog(/Reloaded users: 3 /, 20_000)
    await embedded.waitForLog(/Reloaded access rules/, 20_000)
    const fred = await client(embedded.mqttPort, 'fred', pw('fred'))
    for (let i = 0; i < 30; i++) await fred.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tst: 1_700_000_000 + i * 60, tid: 'fr' })), { qos: 1 })
    await fred.endAsync()
    for (const p of PATHS) want[p] = await (await get(embedded, p)).text()
    await embedded.stop()
  })
  after(async () => {
    await node?.stop()
    await pg?.stop()
    await redis?.stop()
  })

  it('cluster migrate copies history, users and rules, and a second run adds nothing', async () => {
    const args = ['cluster', 'migrate', '--data', embedded.dataDir, '--acl-dir', embedded.aclDir, '--postgres', url]
    const first = await runCli(args)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /30 history records added, 0 already there/)
    const again = await runCli(args)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /0 history records added, 30 already there/)
  })

  it('a node started on the migrated cluster answers the same bytes and knows the users', async () => {
    const dataDir = join(root, 'node1')
    node = await startHub({ dataDir, aclDir: join(dataDir, 'acl'), args: ['--redis', redis.url, '--postgres', url], startTimeoutMs: 60_000 })
    for (const p of PATHS) assert.equal(await (await get(node, p)).text(), want[p], p)
    assert.equal(readFileSync(join(node.aclDir, 'sharing.yml'), 'utf8'), RULES)
  })

  it('user add --postgres reaches the running node', async () => {
    const since = node!.logs().length
    const r = await runCli(['user', 'add', 'zoe', '--password', pw('zoe'), '--postgres', url])
    assert.equal(r.code, 0, r.stderr)
    await node!.waitForLog(/Reloaded users: 4 /, 20_000, since)
    const zoe = await client(node!.mqttPort, 'zoe', pw('zoe'))
    await zoe.endAsync()
    const list = await runCli(['user', 'list', '--postgres', url])
    assert.match(list.stdout, /zoe/)
  })

  it('acl pull writes the rules as text; acl push refuses a mistake with file and line and keeps the rules, then applies a good change', async () => {
    const dir = join(root, 'rules')
    const pulled = await runCli(['acl', 'pull', dir, '--postgres', url])
    assert.equal(pulled.code, 0, pulled.stderr)
    assert.equal(readFileSync(join(dir, 'sharing.yml'), 'utf8'), RULES)
    const bad = join(root, 'bad')
    mkdirSync(bad)
    writeFileSync(join(bad, 'sharing.yml'), RULES + 'shares:\n  - from: fred\n    to: fredd\n')
    const refused = await runCli(['acl', 'push', bad, '--postgres', url])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /sharing\.yml.*line \d+|line \d+.*sharing\.yml/)
    assert.match(refused.stderr, /fredd/)
    const still = await runCli(['acl', 'pull', join(root, 'still'), '--postgres', url])
    assert.equal(still.code, 0)
    assert.equal(readFileSync(join(root, 'still', 'sharing.yml'), 'utf8'), RULES, 'the old rules stay')
    const good = RULES + 'shares:\n  - from: fred\n    to: zoe\n'
    writeFileSync(join(dir, 'sharing.yml'), good)
    const since = node!.logs().length
    const pushed = await runCli(['acl', 'push', dir, '--postgres', url])
    assert.equal(pushed.code, 0, pushed.stderr)
    await node!.waitForLog(/Reloaded access rules/, 20_000, since)
    assert.equal(readFileSync(join(node!.aclDir, 'sharing.yml'), 'utf8'), good)
    const shown = await runCli(['acl', 'show', '--postgres', url])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, /user zoe[\s\S]*owntracks\/fred\//)
  })

  it('cluster export writes an embedded data directory that serves the same bytes', async () => {
    const dataDir = join(root, 'back', 'data')
    const aclDir = join(root, 'back', 'acl')
    const r = await runCli(['cluster', 'export', '--data', dataDir, '--acl-dir', aclDir, '--postgres', url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /30 history records added/)
    const back = await startHub({ dataDir, aclDir, startTimeoutMs: 60_000 })
    try {
      for (const p of PATHS) {
        const text = await waitFor(`${p} on the exported hub`, async () => (await get(back, p)).text())
        assert.equal(text, want[p], p)
      }
    } finally {
      await back.stop()
    }
  })
})
