import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import pg from 'pg'
import { AccessControl } from '../access/access.js'
import { FileMirror, sharedFiles } from '../cluster/file-mirror.js'
import { migrate } from '../cluster/migrations.js'
import { PgListener } from '../cluster/pg-listen.js'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { VERSION } from '../hub.js'
import { createLogger } from '../log.js'
import { Places } from '../places/places.js'
import { takeBackup, type Manifest } from '../ops/backup.js'
import { hidePassword } from '../ops/config-file.js'
import { LevelHistory } from '../store/history-level.js'
import { PgHistory } from '../store/history-pg.js'
import { inTransaction } from '../store/pg-transaction.js'
import type { HistoryRecord } from '../store/types.js'
import { UserRegistry } from '../users/registry.js'
import { UsageError, type Parsed } from './args.js'
import { exportThroughRules, type HubLink } from './hub-link.js'

/*
 * The commands of a cluster (README.md, "When one machine is not enough"): `user` and `acl` against the
 * cluster's shared files, `acl push` / `acl pull`, `import`, `export` and `backup` against its history,
 * and moving an embedded hub in (`cluster migrate`) and back out (`cluster export`).
 */

const quiet = () => createLogger({ logLevel: 'error', logFormat: 'text' }, process.stderr)

async function connect(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 })
  pool.on('error', () => {})
  try {
    await migrate(pool)
  } catch (err) {
    await pool.end().catch(() => {})
    throw new Error(`cannot use PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}`)
  }
  return pool
}

function postgresOf(cfg: Config): string {
  if (!cfg.postgres) throw new ConfigError('this command works on a cluster: give --postgres URL (or OTHUB_POSTGRES)')
  return cfg.postgres
}

/**
 * Runs a `user` or `acl` command against the cluster when --postgres is given: the cluster's users,
 * rules and keys are written to a private temp dir, the command runs on them exactly as on an embedded
 * hub's files, and what it changed goes back to the cluster, whose nodes apply it within 2 seconds.
 */
export async function againstCluster(p: Parsed, run: (p: Parsed) => Promise<void>): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  if (!cfg.postgres) return run(p)
  const pool = await connect(cfg.postgres)
  const tmp = mkdtempSync(join(tmpdir(), 'othub-cli-'))
  try {
    const paths = { data: join(tmp, 'data'), aclDir: join(tmp, 'acl'), passwordFile: join(tmp, 'passwd') }
    mkdirSync(paths.data, { mode: 0o700 })
    mkdirSync(paths.aclDir)
    const mirror = new FileMirror(pool, sharedFiles(paths), quiet())
    await mirror.pullNow()
    await run({ ...p, flags: { ...p.flags, data: paths.data, aclDir: paths.aclDir, passwordFile: paths.passwordFile, redis: undefined, postgres: undefined } })
    await mirror.pushNow()
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    await pool.end()
  }
}


const RULE_FILE = /\.(ya?ml|acl)$/

export async function aclCluster(sub: string, p: Parsed): Promise<void> {
  const dir = p.positionals[0]
  if (!dir) throw new UsageError(`acl ${sub} needs DIR`)
  const cfg = loadConfig(p.flags, process.env)
  const pool = await connect(postgresOf(cfg))
  try {
    const mirror = new FileMirror(pool, [], quiet())
    if (sub === 'pull') {
      mkdirSync(dir, { recursive: true })
      const files = await mirror.read('acl')
      for (const f of files) {
        const rel = f.name.slice('acl/'.length)
        mkdirSync(join(dir, rel, '..'), { recursive: true })
        writeFileSync(join(dir, rel), f.content)
      }
      console.log(`Wrote ${files.length} rule files of the cluster to ${dir}`)
      return
    }
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`)
    // Check them as a node would, with the cluster's users (rules may only name known people).
    const tmp = mkdtempSync(join(tmpdir(), 'othub-acl-'))
    try {
      const users = new FileMirror(pool, [{ name: 'passwd', path: join(tmp, 'passwd') }], quiet())
      await users.pullNow()
      const registry = UserRegistry.forData(tmp, join(tmp, 'passwd'))
      const access = new AccessControl(dir, cfg.topicBase, undefined, { users: registry })
      if (!access.load()) throw new Error(`${access.lastError}\nNothing changed: the cluster keeps its rules.`)
      // places.yml may name the people and groups of those rules
      const places = new Places(dir, access, () => registry.list().map((u) => u.name))
      if (!places.load()) throw new Error(`${places.lastError}\nNothing changed: the cluster keeps its rules.`)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    const files = readdirSync(dir).filter((n) => RULE_FILE.test(n) && statSync(join(dir, n)).isFile()).sort()
    await inTransaction(pool, async (c) => {
      await c.query("update othub_files set content = null, updated_at = now(), origin = 'acl push' where starts_with(name, 'acl/') and content is not null and not (name = any($1))", [files.map((n) => `acl/${n}`)])
      for (const n of files) {
        await c.query(`insert into othub_files (name, content, origin) values ($1, $2, 'acl push')
          on conflict (name) do update set content = excluded.content, origin = excluded.origin, updated_at = now()`, [`acl/${n}`, readFileSync(join(dir, n))])
      }
      // Every node re-reads every file: one notice for each, as when a node changes one.
      const { rows } = await c.query<{ name: string }>("select name from othub_files where starts_with(name, 'acl/')")
      for (const r of rows) await c.query('select pg_notify($1, $2)', ['othub_files', JSON.stringify({ n: 'cli', f: r.name })])
    })
    console.log(`The cluster's rules are now the ${files.length} files of ${dir} (${files.join(', ')})`)
  } finally {
    await pool.end()
  }
}


const BATCH = 5000

export async function cluster(sub: string, p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  const pool = await connect(postgresOf(cfg))
  try {
    const history = await PgHistory.open(pool, new PgListener(cfg.postgres!, quiet()))
    if (sub === 'migrate') await migrateIn(cfg, pool, history)
    else await exportOut(cfg, pool)
  } finally {
    await pool.end()
  }
}

const progress = (line: string) => process.stderr.write(`\r${line}\x1b[K`)

async function migrateIn(cfg: Config, pool: pg.Pool, history: PgHistory): Promise<void> {
  const dir = join(cfg.data, 'history')
  if (!existsSync(dir)) throw new Error(`no history in ${cfg.data} (wrong --data?)`)
  const level = await LevelHistory.open(dir).catch((err: Error & { cause?: Error }) => {
    throw new Error(`cannot open the history in ${dir}: ${err.cause?.message ?? err.message}. Stop the hub that runs on it first.`)
  })
  let added = 0
  let present = 0
  try {
    let batch: HistoryRecord[] = []
    const flush = async () => {
      const r = await history.writeNew(batch)
      added += r.added; present += r.present; batch = []
      progress(`history: ${added + present} records read, ${added} new`)
    }
    for await (const [key, value] of level.level.iterator({ gt: 'L', lt: 'S' })) {
      const parts = key.split('\x00')
      if (parts[0] !== 'L' && parts[0] !== 'R') continue
      const [user, device] = [parts[1], parts[2]]
      const tst = Number(parts[0] === 'L' ? parts[3] : parts[4])
      batch.push({ user, device, message: JSON.parse(value) as HistoryRecord['message'], topic: `${cfg.topicBase}/${user}/${device}`, at: tst })
      if (batch.length >= BATCH) await flush()
    }
    if (batch.length) await flush()
  } finally {
    await level.close()
  }
  process.stderr.write('\n')
  const mirror = new FileMirror(pool, sharedFiles(cfg), quiet())
  const files = await mirror.pushNow()
  console.log(`Migrated into the cluster: ${added} history records added, ${present} already there; ${files} files of users, rules, keys, cards and tours.`)
}

async function exportOut(cfg: Config, pool: pg.Pool): Promise<void> {
  const r = await exportInto(pool, cfg)
  console.log(`Exported the cluster into ${cfg.data}: ${r.added} history records added, ${r.present} already there; ${r.files} files of users, rules, keys, cards and tours written.`)
}

/** The cluster's history into <data>/history (LevelDB) and its shared files into the data and rules directories. */
async function exportInto(pool: pg.Pool, cfg: Pick<Config, 'data' | 'aclDir' | 'passwordFile' | 'topicBase'>): Promise<{ added: number; present: number; files: number }> {
  const dir = join(cfg.data, 'history')
  mkdirSync(cfg.data, { recursive: true })
  const level = await LevelHistory.open(dir).catch((err: Error & { cause?: Error }) => {
    throw new Error(`cannot open the history in ${dir}: ${err.cause?.message ?? err.message}. Stop the hub that runs on it first.`)
  })
  let added = 0
  let present = 0
  try {
    for (const [table, cols] of [['othub_locations', 'usr, device, tst, h8'], ['othub_records', 'usr, device, type, tst, h8']] as const) {
      // Keyset pages in key order, so memory stays flat however large the history is.
      let after: unknown[] | undefined
      for (;;) {
        const keyCols = cols.split(', ')
        const where = after ? `where (${cols}) > (${keyCols.map((_, i) => `$${i + 1}`).join(', ')})` : ''
        const { rows } = await pool.query<{ usr: string; device: string; type?: string; tst: string; h8: string; json: string }>(
          `select ${cols}, json from ${table} ${where} order by ${cols} limit ${BATCH}`, after ?? [])
        if (rows.length === 0) break
        const r = await level.writeNew(rows.map((row) => ({ user: row.usr, device: row.device, message: JSON.parse(row.json) as HistoryRecord['message'], topic: `${cfg.topicBase}/${row.usr}/${row.device}`, at: Number(row.tst) })))
        added += r.added; present += r.present
        progress(`history: ${added + present} records written, ${added} new`)
        const last = rows[rows.length - 1] as unknown as Record<string, unknown>
        after = keyCols.map((k) => last[k])
      }
    }
  } finally {
    await level.close()
  }
  process.stderr.write('\n')
  mkdirSync(cfg.aclDir, { recursive: true })
  const mirror = new FileMirror(pool, sharedFiles(cfg), quiet())
  const files = await mirror.pullNow()
  return { added, present, files }
}

/**
 * `backup DIR --postgres URL`: the cluster's history, users, rules, keys, cards and tours as the backup
 * of an embedded hub (the same format: `restore` makes a data directory of it, `cluster migrate` moves
 * that back into a cluster). Read from PostgreSQL page by page in key order; locations committed while
 * it runs may or may not be in it. What lives in Redis (sessions, retained messages) is Redis' to keep.
 */
export async function backupCluster(cfg: Config, dest: string, say: (line: string) => void): Promise<Manifest> {
  const pool = await connect(postgresOf(cfg))
  const tmp = mkdtempSync(join(tmpdir(), 'othub-backup-'))
  try {
    const paths = { data: join(tmp, 'data'), aclDir: join(tmp, 'acl'), passwordFile: join(tmp, 'data', 'passwd'), topicBase: cfg.topicBase }
    mkdirSync(paths.data, { mode: 0o700 })
    mkdirSync(paths.aclDir)
    say(`Reading the cluster's history and shared files from PostgreSQL ${hidePassword(cfg.postgres!)}.`)
    await exportInto(pool, paths)
    const history = new Level<Buffer, Buffer>(join(paths.data, 'history'), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false })
    await history.open()
    try {
      return await takeBackup({ dataDir: paths.data, aclDir: paths.aclDir, databases: [{ name: 'history', db: history }], version: VERSION, from: `the cluster at ${hidePassword(cfg.postgres!)}` }, dest, say)
    } finally {
      await history.close()
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    await pool.end()
  }
}

/**
 * The history of a cluster for `import` and `export` (commands/hub-link.ts): records go straight into
 * PostgreSQL, where every node sees them, and an export reads it as an admin through the cluster's rules.
 */
export async function clusterLink(cfg: Config): Promise<HubLink> {
  const pool = await connect(postgresOf(cfg))
  const history = await PgHistory.open(pool, new PgListener(cfg.postgres!, quiet()))
  const via = `the cluster's PostgreSQL ${hidePassword(cfg.postgres!)}`
  return {
    via,
    async writeNew(records) { return { ...(await history.writeNew(records)), skipped: {} } },
    async exportStream(q) {
      const tmp = mkdtempSync(join(tmpdir(), 'othub-export-'))
      try {
        const rules = new FileMirror(pool, [{ name: 'acl', path: tmp, dir: true }], quiet())
        await rules.pullNow()
        return exportThroughRules(tmp, cfg.topicBase, history, q)
      } finally {
        rmSync(tmp, { recursive: true, force: true })
      }
    },
    async close() { await pool.end() },
  }
}
