import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startHaproxy, startPostgres, startRedis, type Balancer } from '../test/helpers/cluster.js'
import { throughput, type ThroughputResult } from './load.js'
import { addUsers, CLI, PASSWORD, startHub, type Target } from './targets.js'

/*
 * `npm run bench -- --cluster N`: the same phones through HAProxy (deploy/haproxy.cfg) against 1, 2, … N
 * hub nodes on one Redis and one PostgreSQL, beside the embedded hub in the same run. Everything shares
 * this machine's cores: the nodes, Redis, PostgreSQL, HAProxy and the harness. The figure that carries
 * over to other machines is the cost per node: CPU-seconds per 10,000 acknowledged messages.
 */

const ADMIN = { user: 'benchadmin', password: 'bench-admin-pw' }

function waitFor(proc: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const on = (b: Buffer) => { out += b.toString(); if (re.test(out)) { proc.stdout!.off('data', on); proc.stderr!.off('data', on); proc.stdout!.resume(); proc.stderr!.resume(); resolve(out) } }
    proc.stdout!.on('data', on)
    proc.stderr!.on('data', on)
    proc.once('exit', (code) => reject(new Error(`node exited ${code}:\n${out}`)))
  })
}

const stop = async (proc: ChildProcess) => {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const done = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGTERM')
  await done
}

interface Node { proc: ChildProcess; mqtt: number; http: number }

async function startNode(dataDir: string, redis: string, postgres: string): Promise<Node> {
  mkdirSync(join(dataDir, 'acl'), { recursive: true })
  const proc = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--acl-dir', join(dataDir, 'acl'), '--host', '127.0.0.1',
    '--mqtt-port', '0', '--http-port', '0', '--mqtts-port', '0', '--https-port', '0', '--max-connections', '0', '--redis', redis, '--postgres', postgres],
  { stdio: ['ignore', 'pipe', 'pipe'] })
  const out = await waitFor(proc, /running; data in/)
  return { proc, mqtt: Number(/listening mqtt 127\.0\.0\.1:(\d+)/.exec(out)![1]), http: Number(/listening http 127\.0\.0\.1:(\d+)/.exec(out)![1]) }
}

export interface ClusterRun { name: string; nodes: number; thr: ThroughputResult; cpuPer10k: number; /** Times HAProxy took a node out of rotation (its /healthz too slow or failing). */ markedDown?: number }

export async function clusterBench(dir: string, maxNodes: number, o: { phones: number; window: number; seconds: number; subs: number }, log: (s: string) => void): Promise<ClusterRun[]> {
  const runs: ClusterRun[] = []
  {
    const d = join(dir, 'embedded', 'data')
    const t = await startHub(d, [], [])
    await addUsers(d)
    await new Promise((r) => setTimeout(r, 1500))
    log(`embedded hub: ${o.phones} phones × ${o.window} in flight, ${o.subs} subscribers, ${o.seconds} s`)
    try {
      const thr = await throughput(t, o)
      runs.push({ name: 'embedded (LevelDB)', nodes: 1, thr, cpuPer10k: (thr.cpuS / thr.ackedInWindow) * 10_000 })
    } finally { await t.stop() }
  }
  const redis = await startRedis()
  // PostgreSQL as deployed (fsync on): an acknowledged location is on its disk, as LevelDB's is embedded
  const pg = await startPostgres({ durable: true })
  try {
    for (let n = 1; n <= maxNodes; n++) {
      await redis.restart() // an empty broker state for each size (append-only file of the last run aside)
      spawnSync('redis-cli', ['-p', String(redis.port), 'flushall'])
      const url = await pg.createDatabase(`bench${n}`)
      const first = join(dir, `cluster${n}`, 'node1')
      await addUsers(first)
      const r = spawnSync(process.execPath, [CLI, 'user', 'add', ADMIN.user, '--password', ADMIN.password, '--admin', '--data', first], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(r.stderr)
      const nodes: Node[] = []
      let lb: Balancer | undefined
      try {
        for (let k = 1; k <= n; k++) nodes.push(await startNode(join(dir, `cluster${n}`, `node${k}`), redis.url, url))
        lb = await startHaproxy(nodes.map((x) => ({ mqttPort: x.mqtt, httpPort: x.http })), { maxconn: o.phones + o.subs + 200 })
        const t: Target = {
          name: `cluster of ${n}`, mqttPort: lb.mqttPort, httpPort: lb.httpPort, proc: nodes[0].proc, admin: ADMIN, password: PASSWORD, startupMs: 0,
          pids: () => nodes.map((x) => x.proc.pid!), stop: async () => {},
        }
        log(`${n} node${n > 1 ? 's' : ''} behind HAProxy: ${o.phones} phones × ${o.window} in flight, ${o.subs} subscribers, ${o.seconds} s`)
        const thr = await throughput(t, o)
        const markedDown = (lb.logs().match(/ is DOWN/g) ?? []).length
        runs.push({ name: `${n} node${n > 1 ? 's' : ''} (Redis + PostgreSQL, HAProxy)`, nodes: n, thr, cpuPer10k: (thr.cpuS / n / thr.ackedInWindow) * 10_000, markedDown })
      } finally {
        if (lb) await lb.stop()
        for (const x of nodes) await stop(x.proc)
      }
    }
  } finally {
    await pg.stop()
    await redis.stop()
  }
  return runs
}

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–')

export function clusterTable(runs: ClusterRun[]): string {
  return [
    '| | acked msg/s | delivered / expected | p99 ms | CPU-s per 10k msgs, per node | HTTP requests (failed) | nodes marked down by HAProxy |',
    '|---|---|---|---|---|---|---|',
    ...runs.map((r) => `| ${r.name} | ${f(r.thr.ackedPerS)} | ${r.thr.delivered} / ${r.thr.expected} | ${f(r.thr.p99, 1)} | ${f(r.cpuPer10k, 2)} | ${r.thr.http ? `${r.thr.http.requests} (${r.thr.http.failed})` : '–'} | ${r.markedDown ?? '–'} |`),
  ].join('\n')
}
