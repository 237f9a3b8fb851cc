/**
 * `npm run bench`: the hub against the brokers it is built from and compared with, on one harness in one
 * run: bare aedes in memory, aedes + aedes-persistence-level (bench/bare-aedes.ts), and Debian's Mosquitto
 * when it is installed. Every figure is shown beside the hub's as a ratio, with the load average of the
 * machine when it was taken. Options (all optional):
 *   --quick                                             shorter phases, no history, no RESULTS.md: the headline ratios in < 2 min
 *   --phones 100 --window 10 --seconds 10 --subs 1      throughput: phones (each its own user) with a window of QoS 1 publishes in flight
 *   --load-phones 1000                                  peak RSS with that many phones under the same load
 *   --steady-phones 2000 --rate 1000 --steady-seconds 20   latency and CPU at a steady rate, measured after
 *   --steady-warmup 5                                   the rate ran that long (the start-up is shown apart)
 *   --idle 2000 --idle-seconds 30                       idle connections (each subscribed to its cmd) for memory per phone
 *   --no-history  --no-mosquitto  --no-aedes  --no-record   (a full run rewrites bench/RESULTS.md unless --no-record)
 *   --only history                                      only the history targets (with --before: beside the hub before);
 *                                                       prints their table, never rewrites bench/RESULTS.md
 *   --history-dir DIR                                   keep the seeded year in DIR (seeded on first use, reused after:
 *                                                       seeding takes a while and the data is the same every time)
 *   --profile DIR                                       the hub runs with --cpu-prof, profiles in DIR
 *   --node-args "--max-semi-space-size=2"               extra Node/V8 flags for the hub
 *   --before DIR                                        also a built checkout of the hub (DIR/dist/src/cli.js), e.g. main
 *                                                       before a change, as "hub before" in the same run
 *   --cluster 3                                         instead: the throughput phase through HAProxy against 1, 2, 3
 *                                                       nodes on Redis + PostgreSQL, beside the embedded hub
 *                                                       (--record appends that table to bench/RESULTS.md)
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { historyTargets, seed, type HistoryResult } from './history.js'
import { idle, steady, throughput, type IdleResult, type SteadyResult, type ThroughputResult } from './load.js'
import { addUsers, mosquittoVersion, startAedes, startHub, startMosquitto, type Target } from './targets.js'
import { clusterBench, clusterTable } from './cluster.js'
import { historyTable, limits, resultsFile, table, type Run } from './report.js'

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    phones: { type: 'string' }, window: { type: 'string', default: '10' }, seconds: { type: 'string' },
    subs: { type: 'string', default: '1' }, 'load-phones': { type: 'string', default: '1000' },
    'steady-phones': { type: 'string' }, rate: { type: 'string', default: '1000' }, 'steady-seconds': { type: 'string' }, 'steady-warmup': { type: 'string' },
    idle: { type: 'string' }, 'idle-seconds': { type: 'string' },
    'no-history': { type: 'boolean' }, cluster: { type: 'string' }, profile: { type: 'string' }, 'node-args': { type: 'string' },
    'no-mosquitto': { type: 'boolean' }, 'no-aedes': { type: 'boolean' }, 'no-record': { type: 'boolean' }, record: { type: 'boolean' }, before: { type: 'string' },
    only: { type: 'string' }, 'history-dir': { type: 'string' },
  },
})
if (a.only !== undefined && a.only !== 'history') throw new Error(`--only: '${a.only}' is not a part of the bench (known: history)`)
const quick = a.quick === true
/** The issue's harness for a full run; a quick run keeps the shapes and shortens the phases. */
const o = {
  phones: Number(a.phones ?? 100), window: Number(a.window), seconds: Number(a.seconds ?? (quick ? 3 : 10)), subs: Number(a.subs),
  loadPhones: quick ? 0 : Number(a['load-phones']),
  steadyPhones: Number(a['steady-phones'] ?? (quick ? 500 : 2000)), rate: Number(a.rate), steadySeconds: Number(a['steady-seconds'] ?? (quick ? 4 : 20)),
  steadyWarmup: Number(a['steady-warmup'] ?? (quick ? 2 : 5)),
  idle: Number(a.idle ?? (quick ? 300 : 2000)), idleSeconds: Number(a['idle-seconds'] ?? (quick ? 3 : 30)),
}
const log = (s: string) => process.stderr.write(`bench: ${s} (load ${loadavg()[0].toFixed(1)})\n`)
const la = () => loadavg()[0]

async function measure(start: () => Promise<Target>): Promise<Run> {
  let t = await start()
  const name = t.name
  try {
    log(`${name}: idle memory with ${o.idle} phones, ${o.idleSeconds} s idle`)
    const idleR = { ...await idle(t, o.idle, o.idleSeconds), load: la() }
    await t.stop(); t = await start()
    log(`${name}: throughput, ${o.phones} phones × ${o.window} in flight, ${o.subs} subscriber(s), ${o.seconds} s`)
    // the issue's harness, MQTT alone: bare aedes and Mosquitto serve no HTTP, so neither does the hub here
    const thr = { ...await throughput(t, { phones: o.phones, window: o.window, seconds: o.seconds, subs: o.subs, http: false }), load: la() }
    let load: (ThroughputResult & { load: number }) | undefined
    if (o.loadPhones > 0) {
      await t.stop(); t = await start()
      log(`${name}: ${o.loadPhones} phones × ${o.window} in flight, for the peak RSS${t.httpPort ? ' and HTTP answers meanwhile' : ''}`)
      load = { ...await throughput(t, { phones: o.loadPhones, window: o.window, seconds: Math.min(o.seconds, 5), subs: o.subs }), load: la() }
    }
    await t.stop(); t = await start()
    log(`${name}: ${o.rate} msg/s from ${o.steadyPhones} phones for ${o.steadySeconds} s after ${o.steadyWarmup} s`)
    const st: SteadyResult & { load: number } = { ...await steady(t, { phones: o.steadyPhones, rate: o.rate, seconds: o.steadySeconds, warmup: o.steadyWarmup }), load: la() }
    return { name, thr, load, steady: st, idle: idleR as IdleResult & { load: number } }
  } finally {
    await t.stop()
  }
}

const machineLine = () => `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`

/** The history targets on a seeded year (in --history-dir when given, else in the run's temp dir), then with the hub before. */
async function history(dir: string, nodeArgs: string[], beforeCli: string | undefined): Promise<HistoryResult> {
  const d = a['history-dir'] ? join(a['history-dir'], 'data') : join(dir, 'history', 'data')
  // Marked once seeding finished, so an interrupted seed is not taken for the year.
  const seeded = join(d, '..', 'seeded')
  if (!existsSync(seeded)) {
    rmSync(d, { recursive: true, force: true })
    const t = await startHub(d)
    await t.stop()
    await seed(d, log)
    writeFileSync(seeded, new Date().toISOString())
  } else log(`history: reusing the year seeded in ${d}`)
  log('history: start-up, a day, the year as JSON and as GeoJSON, /last')
  const hist = await historyTargets(d, nodeArgs)
  if (beforeCli) {
    log('history with the hub before')
    hist.before = await historyTargets(d, nodeArgs, beforeCli)
  }
  return hist
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'othub-bench-'))
  try {
    if (a.cluster) {
      const runs = await clusterBench(dir, Number(a.cluster), { phones: o.phones, window: o.window, seconds: o.seconds, subs: o.subs }, log)
      const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`
      const out = `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — cluster, ${machine}; ${o.phones} phones × ${o.window} in flight, ${o.subs} subscribers; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end\n\n${clusterTable(runs)}\n`
      process.stdout.write(`\n${out}`)
      if (a.record) appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), `\n${out}`)
      return
    }
    let round = 0
    // Each phase gets a fresh data directory with the same users.
    const nodeArgs = [...(a.profile ? ['--cpu-prof', `--cpu-prof-dir=${a.profile}`] : []), ...(a['node-args']?.split(' ').filter(Boolean) ?? [])]
    const beforeCli = a.before ? join(a.before, 'dist', 'src', 'cli.js') : undefined
    if (a.only === 'history') {
      const hist = await history(dir, nodeArgs, beforeCli)
      process.stdout.write(`\n${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${machineLine()}\n\n${historyTable(hist)}\n`)
      return
    }
    const first = join(dir, 'hub1', 'data')
    const startFresh = async () => {
      const d = join(dir, `hub${++round}`, 'data')
      // Every phone logs in from 127.0.0.1: the per-address limit on password checks would refuse the 21st user.
      const t = await startHub(d, ['--auth-rate-address', '0'], nodeArgs)
      await addUsers(d)
      await new Promise((r) => setTimeout(r, 1500)) // the hub re-reads its password file within a second
      return t
    }
    const runs: Run[] = [await measure(startFresh)]
    if (beforeCli) {
      runs.push(await measure(async () => {
        const d = join(dir, `hub${++round}`, 'data')
        const t = await startHub(d, ['--auth-rate-address', '0'], nodeArgs, { cli: beforeCli, name: 'hub before' })
        await addUsers(d)
        await new Promise((r) => setTimeout(r, 1500))
        return t
      }))
    }
    if (!a['no-aedes']) {
      let k = 0
      runs.push(await measure(() => startAedes(join(dir, `aedes${++k}`), 'memory')))
      runs.push(await measure(() => startAedes(join(dir, `aedes-level${++k}`), 'level')))
    } else log('bare aedes skipped (--no-aedes)')
    const version = mosquittoVersion()
    if (version && !a['no-mosquitto']) {
      const adminPw = readFileSync(join(first, 'initial-admin-password'), 'utf8').trim()
      let k = 0
      runs.push(await measure(() => startMosquitto(join(dir, `mosquitto${++k}`), first, adminPw)))
    } else log(version ? 'Mosquitto skipped (--no-mosquitto)' : 'Mosquitto not installed (/usr/sbin/mosquitto): no ratio')
    let hist: HistoryResult | undefined
    if (!a['no-history'] && !quick) hist = await history(dir, nodeArgs, beforeCli)
    const machine = `${machineLine()}${version ? `, Mosquitto ${version}` : ''}`
    const when = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`
    const t = table(runs, o, hist)
    process.stdout.write(`\n${when}: ${machine}\n\n${t}\n\n${limits(runs).join('\n')}\n`)
    if (!quick && !a['no-record']) {
      const file = new URL('../../bench/RESULTS.md', import.meta.url)
      const old = existsSync(file) ? readFileSync(file, 'utf8') : ''
      writeFileSync(file, resultsFile({ when, machine, table: t, limits: limits(runs), options: process.argv.slice(2).join(' ').replace(/--before(=|\s+)\S+/, '--before DIR').replace(/--profile(=|\s+)\S+/, '--profile DIR').replace(/--history-dir(=|\s+)\S+/, '--history-dir DIR'), previous: old }))
      log('bench/RESULTS.md rewritten')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: Error) => { console.error(err.stack ?? err.message); process.exitCode = 1 })
