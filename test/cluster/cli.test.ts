import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
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
  // Towns are loaded on first use: hubs compared byte for byte must both have them (else one answer lacks `locality`).
  const named = (hub: RunningHub) => waitFor('the offline place names', async () => ((await (await get(hub, '/api/0/q?lat=48.8583&lon=2.2945')).json()) as { locality?: string }).locality, 20_000)

  before(async () => {
    redis = await startRedis()
    pg = await startPostgres()
    url = await pg.createDatabase('cli')
    embedded = await startHub({ dataDir: join(root, 'embedded', 'data'), aclDir: join(root, 'embedded', 'acl'), startTimeoutMs: 60_000 })
    for (const u of ['fred', 'jane']) assert.equal((await runCli(['user', 'add', u, '--password', pw(u), '--data', embedded.dataDir])).code, 0)
    // Whole or not at all: the hub polls the file, and a poll between the truncate and the write of a plain
    // writeFileSync applied no rules (jane was refused fred, and that refusal became the bytes to compare).
    writeFileSync(join(embedded.aclDir, 'sharing.yml.tmp'), RULES)
    renameSync(join(embedded.aclDir, 'sharing.yml.tmp'), join(embedded.aclDir, 'sharing.yml'))
    await embedded.waitForLog(/Reloaded users: 3 /, 20_000)
    const fred = await client(embedded.mqttPort, 'fred', pw('fred'))
    for (let i = 0; i < 30; i++) await fred.publishAsync('owntracks/fred/phone', JSON.stringify(location({ tst: 1_700_000_000 + i * 60, tid: 'fr' })), { qos: 1 })
    await fred.endAsync()
    await waitFor('the embedded hub to let jane read fred', async () => (await get(embedded, PATHS[0])).status === 200, 20_000).catch(() => {})
    await named(embedded)
    for (const p of PATHS) {
      const r = await get(embedded, p)
      assert.equal(r.status, 200, `the embedded hub's answer to compare with: ${p}`)
      want[p] = await r.text()
    }
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
    assert.match(first.stderr, /history: 30 records read, 30 new/, 'a progress line')
    const again = await runCli(args)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /0 history records added, 30 already there/)
  })

  it('a node started on the migrated cluster answers the same bytes and knows the users', async () => {
    const dataDir = join(root, 'node1')
    node = await startHub({ dataDir, aclDir: join(dataDir, 'acl'), args: ['--redis', redis.url, '--postgres', url], startTimeoutMs: 60_000 })
    await named(node)
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

  it('acl push checks places.yml too: a place owned by nobody known is refused with its line, and the cluster keeps its rules', async () => {
    const bad = join(root, 'bad-places')
    mkdirSync(bad)
    writeFileSync(join(bad, 'sharing.yml'), readFileSync(join(node!.aclDir, 'sharing.yml')))
    writeFileSync(join(bad, 'places.yml'), 'places:\n  - name: home\n    owner: nobody\n    lat: 52.5\n    lon: 13.4\n    radius: 100m\n')
    const refused = await runCli(['acl', 'push', bad, '--postgres', url])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /places\.yml.*line \d+/)
    assert.match(refused.stderr, /Nothing changed/)
    const still = await runCli(['acl', 'pull', join(root, 'still-places'), '--postgres', url])
    assert.equal(still.code, 0, still.stderr)
    assert.match(still.stdout, /Wrote 1 rule files/)
  })

  it('cluster export writes an embedded data directory that serves the same bytes', async () => {
    const dataDir = join(root, 'back', 'data')
    const aclDir = join(root, 'back', 'acl')
    const r = await runCli(['cluster', 'export', '--data', dataDir, '--acl-dir', aclDir, '--postgres', url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /30 history records added/)
    const back = await startHub({ dataDir, aclDir, startTimeoutMs: 60_000 })
    try {
      await named(back)
      for (const p of PATHS) {
        const text = await waitFor(`${p} on the exported hub`, async () => (await get(back, p)).text())
        assert.equal(text, want[p], p)
      }
    } finally {
      await back.stop()
    }
  })

  it('import --postgres puts a GPX track into the cluster, served by the running node at once; a second run adds nothing', async () => {
    const gpx = join(root, 'ride.gpx')
    const pts = [0, 1, 2].map((i) => `<trkpt lat="52.5${i}" lon="13.4${i}"><time>2023-11-15T10:0${i}:00Z</time></trkpt>`).join('')
    writeFileSync(gpx, `<?xml version="1.0"?><gpx version="1.1" creator="test"><trk><trkseg>${pts}</trkseg></trk></gpx>`)
    const args = ['import', 'gpx', gpx, '--user', 'fred', '--device', 'bike', '--postgres', url]
    const r = await runCli(args)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /into the cluster's PostgreSQL[\s\S]*3 new, 0 already there/)
    const res = await get(node!, '/api/0/locations?user=fred&device=bike&from=2023-11-15&to=2023-11-16')
    assert.deepEqual(((await res.json()) as { data: { lat: number }[] }).data.map((l) => l.lat), [52.5, 52.51, 52.52])
    const again = await runCli(args)
    assert.match(again.stdout, /0 new, 3 already there/)
  })

  it('export --postgres writes the same bytes as an export of the embedded hub it came from', async () => {
    for (const format of ['json', 'gpx']) {
      const fromCluster = await runCli(['export', '--user', 'fred', '--device', 'phone', '--format', format, '--postgres', url])
      assert.equal(fromCluster.code, 0, fromCluster.stderr)
      const fromEmbedded = await runCli(['export', '--user', 'fred', '--device', 'phone', '--format', format, '--data', embedded.dataDir, '--acl-dir', embedded.aclDir])
      assert.equal(fromEmbedded.code, 0, fromEmbedded.stderr)
      assert.ok(fromCluster.stdout.length > 100)
      assert.equal(fromCluster.stdout, fromEmbedded.stdout, format)
    }
  })

  it('backup --postgres writes a backup that restore turns into an embedded hub with the cluster\'s history, users and rules', async () => {
    const dest = join(root, 'cluster-backup')
    const r = await runCli(['backup', dest, '--postgres', url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Backup of the cluster done: history \d+ keys/)
    const dataDir = join(root, 'restored', 'data')
    const aclDir = join(root, 'restored', 'acl')
    const back = await runCli(['restore', dest, '--data', dataDir, '--acl-dir', aclDir])
    assert.equal(back.code, 0, back.stderr)
    const hub = await startHub({ dataDir, aclDir, startTimeoutMs: 60_000 })
    try {
      await named(hub)
      // the history as migrated, and with the imported ride, as the cluster serves it
      assert.equal(await waitFor('the locations on the restored hub', async () => (await get(hub, PATHS[0])).text()), want[PATHS[0]])
      const cluster = await (await get(node!, PATHS[1])).text()
      // towns are read on first use, in the background: the restored hub names them once it knows them
      await waitFor('/last on the restored hub as on the cluster', async () => (await (await get(hub, PATHS[1])).text()) === cluster)
      const zoe = await client(hub.mqttPort, 'zoe', pw('zoe'))
      await zoe.endAsync()
    } finally {
      await hub.stop()
    }
  })
})
