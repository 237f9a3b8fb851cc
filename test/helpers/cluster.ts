import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { runCli, startHub, tempDir, type RunningHub, type StartOptions } from './hub.js'
import { freePort } from './ports.js'
import { startProcess, type Started } from './process.js'

/*
 * Real Redis, PostgreSQL and HAProxy for the cluster tests: each on a free loopback port, its files in a
 * temp dir, stopped by PID. Never the system's default ports or data.
 */

async function gone(pid: number, ms = 20_000): Promise<void> {
  const start = Date.now()
  for (;;) {
    try { process.kill(pid, 0) } catch { return }
    if (Date.now() - start > ms) throw new Error(`process ${pid} did not stop`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export interface RedisServer { port: number; url: string; stop(): Promise<void>; restart(): Promise<void>; kill(): Promise<void>; start(): Promise<void> }

/** redis-server with an append-only file, so a restart keeps sessions and retained messages. */
export async function startRedis(): Promise<RedisServer> {
  const dir = tempDir('othub-redis-')
  const port = await freePort()
  let redis: Started | undefined
  const start = async () => {
    redis = await startProcess('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'yes'], { ready: /Ready to accept connections/ })
  }
  const kill = async (sig: NodeJS.Signals = 'SIGTERM') => { await redis?.stop(sig) }
  await start()
  return {
    port, url: `redis://127.0.0.1:${port}`,
    start,
    kill: () => kill('SIGKILL'),
    async restart() { await kill(); await start() },
    async stop() { await kill(); rmSync(dir, { recursive: true, force: true }) },
  }
}

/** initdb and pg_ctl: on PATH, else under /usr/lib/postgresql/<version>/bin (Debian). */
function pgBin(name: string): string {
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
  if (onPath) return onPath
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name)
  throw new Error(`${name} not found: install PostgreSQL (Debian: apt-get install postgresql)`)
}

export interface PostgresServer {
  port: number
  /** A fresh database for one cluster. */
  createDatabase(name: string): Promise<string>
  query<T extends pg.QueryResultRow>(db: string, sql: string, args?: unknown[]): Promise<T[]>
  start(): Promise<void>
  /** Fast shutdown (SIGINT to the postmaster). */
  halt(): Promise<void>
  stop(): Promise<void>
}

/**
 * A PostgreSQL of its own: initdb in a temp dir, as the postgres user when running as root. Tests run it
 * without fsync (what they check does not depend on the disk); `durable` keeps PostgreSQL's defaults,
 * for measuring what a real deployment pays.
 */
export async function startPostgres(o: { durable?: boolean } = {}): Promise<PostgresServer> {
  const dir = tempDir('othub-pg-')
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const run = (cmd: string, args: string[]) => {
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`)
  }
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()))
  }
  mkdirSync(data, { recursive: true, mode: 0o700 })
  if (asRoot) chownSync(data, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()))
  run(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'])
  const port = await freePort()
  const start = async () => {
    run(pgBin('pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start', '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${o.durable ? '' : ' -c fsync=off -c full_page_writes=off'} -c max_connections=200`])
  }
  const pid = () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  const halt = async () => {
    if (!existsSync(join(data, 'postmaster.pid'))) return
    const p = pid()
    process.kill(p, 'SIGINT')
    await gone(p)
  }
  await start()
  const url = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`
  return {
    port,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url('postgres') })
      await c.connect()
      try { await c.query(`create database ${name}`) } finally { await c.end() }
      return url(name)
    },
    async query(db, sql, args) {
      const c = new pg.Client({ connectionString: url(db) })
      await c.connect()
      try { return (await c.query(sql, args)).rows } finally { await c.end() }
    },
    start, halt,
    async stop() { await halt(); rmSync(dir, { recursive: true, force: true }) },
  }
}

export interface Cluster {
  nodes: RunningHub[]
  postgresUrl: string
  redisUrl: string
  /** Starts another node on the same Redis and PostgreSQL, with data and rules directories of its own. */
  addNode(o?: StartOptions): Promise<RunningHub>
  stop(): Promise<void>
}

/**
 * N hub nodes on one Redis and one PostgreSQL database, each with its own data and rules directories, as
 * on separate machines. `users` (password `<name>-pw`) and `rules` (acl/sharing.yml) are given to the
 * first node before it starts, and it gives them to the new cluster.
 */
export async function startCluster(o: { redis: RedisServer; pg: PostgresServer; db: string; nodes: number; users?: { name: string; admin?: boolean }[]; rules?: string }): Promise<Cluster> {
  const root = tempDir('othub-cluster-')
  const first = join(root, 'node1')
  mkdirSync(join(first, 'acl'), { recursive: true })
  for (const u of o.users ?? []) {
    const r = await runCli(['user', 'add', u.name, '--password', `${u.name}-pw`, ...(u.admin ? ['--admin'] : []), '--data', first])
    if (r.code !== 0) throw new Error(r.stderr)
  }
  if (o.rules) writeFileSync(join(first, 'acl', 'sharing.yml'), o.rules)
  const postgresUrl = await o.pg.createDatabase(o.db)
  const nodes: RunningHub[] = []
  let n = 0
  const addNode = async (extra: StartOptions = {}) => {
    const dataDir = join(root, `node${++n}`)
    const node = await startHub({
      dataDir, aclDir: join(dataDir, 'acl'), startTimeoutMs: 60_000,
      ...extra,
      args: ['--redis', o.redis.url, '--postgres', postgresUrl, ...(extra.args ?? [])],
    })
    nodes.push(node)
    return node
  }
  for (let i = 0; i < o.nodes; i++) await addNode()
  return {
    nodes, postgresUrl, redisUrl: o.redis.url, addNode,
    async stop() {
      for (const node of nodes) await node.stop()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

export const HAPROXY_CFG = fileURLToPath(new URL('../../../deploy/haproxy.cfg', import.meta.url))

export interface Balancer { mqttPort: number; httpPort: number; stop(): Promise<void>; /** What HAProxy wrote (servers marked down or up). */ logs(): string }

/**
 * deploy/haproxy.cfg for `count` nodes: the file itself for two, a copy with a `server` line per node
 * beyond the two it names (as its comment says to do) for more.
 */
function haproxyConfig(count: number): string {
  if (count <= 2) return HAPROXY_CFG
  let cfg = readFileSync(HAPROXY_CFG, 'utf8')
  for (let k = 3; k <= count; k++) cfg = cfg.replace(/^(\s+server hub2 .*)$/gm, (line) => `${line}\n${line.replace(/hub2/g, `hub${k}`).replace(/HUB2_/g, `HUB${k}_`)}`)
  const file = join(tempDir('othub-haproxy-'), 'haproxy.cfg')
  writeFileSync(file, cfg)
  return file
}

/**
 * Debian's haproxy with deploy/haproxy.cfg in front of the nodes; resolves once a node is in rotation.
 * With one node, both of the file's `server` lines point at it.
 */
export async function startHaproxy(nodes: { mqttPort: number; httpPort: number }[], o: { maxconn?: number } = {}): Promise<Balancer> {
  const [mqtt, http, mqtts, https] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const env: Record<string, string> = { LB_MAXCONN: String(o.maxconn ?? 2000), LB_HOST: '127.0.0.1', LB_MQTT: String(mqtt), LB_HTTP: String(http), LB_MQTTS: String(mqtts), LB_HTTPS: String(https) }
  const list = nodes.length === 1 ? [nodes[0], nodes[0]] : nodes
  for (const [i, n] of list.entries()) {
    env[`HUB${i + 1}_HOST`] = '127.0.0.1'
    env[`HUB${i + 1}_MQTT`] = String(n.mqttPort)
    env[`HUB${i + 1}_HTTP`] = String(n.httpPort)
    env[`HUB${i + 1}_MQTTS`] = String(await freePort())
    env[`HUB${i + 1}_HTTPS`] = String(await freePort())
  }
  const bin = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy'
  const cfg = haproxyConfig(list.length)
  // ready once it passes a request to a node
  const haproxy = await startProcess('haproxy', bin, ['-db', '-f', cfg], {
    env: { ...process.env, ...env },
    ready: () => fetch(`http://127.0.0.1:${http}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false),
  })
  return {
    mqttPort: mqtt, httpPort: http,
    logs: () => haproxy.output(),
    async stop() {
      await haproxy.stop()
      if (cfg !== HAPROXY_CFG) rmSync(join(cfg, '..'), { recursive: true, force: true })
    },
  }
}
