/**
 * `npm run bench`: the figures of issue 7 for the hub, and for Debian's Mosquitto on the same harness
 * when it is installed. Options (all optional):
 *   --phones 1000 --window 5 --seconds 10 --subs 2     throughput: phones with a window of QoS 1 publishes in flight
 *   --steady-phones 10000 --rate 1000 --steady-seconds 20   latency at a steady rate
 *   --idle 2000                                         idle connections for memory per phone
 *   --no-history  --no-mosquitto  --record              (--record appends the results to bench/RESULTS.md)
 *   --profile DIR                                       the hub runs with --cpu-prof, profiles in DIR
 *   --node-args "--max-semi-space-size=2"               extra Node/V8 flags for the hub
 *   --cluster 3                                         instead: the throughput phase through HAProxy against 1, 2, 3
 *                                                       nodes on Redis + PostgreSQL, beside the embedded hub
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { historyTargets, seed, type HistoryResult } from './history.js'
import { idle, steady, throughput, type IdleResult, type SteadyResult, type ThroughputResult } from './load.js'
import { addUsers, mosquittoVersion, startHub, startMosquitto, type Target } from './targets.js'
import { clusterBench, clusterTable } from './cluster.js'

const { values: a } = parseArgs({
  options: {
    phones: { type: 'string', default: '1000' }, window: { type: 'string', default: '5' }, seconds: { type: 'string', default: '10' },
    subs: { type: 'string', default: '2' }, 'steady-phones': { type: 'string', default: '10000' }, rate: { type: 'string', default: '1000' },
    'steady-seconds': { type: 'string', default: '20' }, idle: { type: 'string', default: '2000' },
    'no-history': { type: 'boolean' }, cluster: { type: 'string' }, profile: { type: 'string' }, 'node-args': { type: 'string' }, 'no-mosquitto': { type: 'boolean' }, record: { type: 'boolean' },
  },
})
const n = (k: keyof typeof a) => Number(a[k])
const log = (s: string) => process.stderr.write(`bench: ${s}\n`)
const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–')

interface Run { name: string; thr: ThroughputResult; steady: SteadyResult; idle: IdleResult; startupMs: number }

async function measure(start: () => Promise<Target>): Promise<Run> {
  let t = await start()
  const name = t.name
  try {
    log(`${name}: idle memory with ${n('idle')} phones`)
    const idleR = await idle(t, n('idle'))
    await t.stop(); t = await start()
    log(`${name}: throughput, ${n('phones')} phones × ${n('window')} in flight, ${n('subs')} subscribers, ${n('seconds')} s`)
    const thr = await throughput(t, { phones: n('phones'), window: n('window'), seconds: n('seconds'), subs: n('subs') })
    await t.stop(); t = await start()
    log(`${name}: ${n('rate')} msg/s from ${n('steady-phones')} phones for ${n('steady-seconds')} s`)
    const st = await steady(t, { phones: n('steady-phones'), rate: n('rate'), seconds: n('steady-seconds') })
    return { name, thr, steady: st, idle: idleR, startupMs: t.startupMs }
  } finally {
    await t.stop()
  }
}

function table(runs: Run[], hist?: HistoryResult): string {
  const hub = runs[0]
  const mq = runs[1]
  const rows: [string, string, string, string][] = []
  const row = (what: string, h: string, m: string, target: string) => rows.push([what, h, m, target])
  row('acknowledged msg/s (QoS 1, retained, window in flight)', f(hub.thr.ackedPerS), mq ? f(mq.thr.ackedPerS) : '–', mq ? `≥ 75% of Mosquitto: **${f((hub.thr.ackedPerS / mq.thr.ackedPerS) * 100)}%**` : '≥ 75% of Mosquitto')
  row('delivered / expected (acked × subscribers)', `${hub.thr.delivered} / ${hub.thr.expected}`, mq ? `${mq.thr.delivered} / ${mq.thr.expected}` : '–', '100%')
  row('latency under saturation p50 / p95 / p99 ms', `${f(hub.thr.p50, 1)} / ${f(hub.thr.p95, 1)} / ${f(hub.thr.p99, 1)}`, mq ? `${f(mq.thr.p50, 1)} / ${f(mq.thr.p95, 1)} / ${f(mq.thr.p99, 1)}` : '–', '')
  row(`peak RSS MB, ${hub.thr.phones} phones under load`, f(hub.thr.peakRssMb), mq ? f(mq.thr.peakRssMb) : '–', '< 150')
  row('CPU % under load (of one core)', f(hub.thr.cpuPct), mq ? f(mq.thr.cpuPct) : '–', '')
  if (hub.thr.http) row('HTTP /last + /locations during load: requests, p50 / p95 ms', `${hub.thr.http.requests}, ${f(hub.thr.http.p50, 1)} / ${f(hub.thr.http.p95, 1)}`, '–', '')
  row(`steady ${hub.steady.rate} msg/s from ${hub.steady.phones} phones: p50 / p95 / p99 ms`, `${f(hub.steady.p50, 2)} / ${f(hub.steady.p95, 2)} / ${f(hub.steady.p99, 2)}`, mq ? `${f(mq.steady.p50, 2)} / ${f(mq.steady.p95, 2)} / ${f(mq.steady.p99, 2)}` : '–', 'p99 < 5')
  row('steady: delivered / sent, CPU %, RSS MB', `${hub.steady.delivered} / ${hub.steady.sent}, ${f(hub.steady.cpuPct)}, ${f(hub.steady.rssMb)}`, mq ? `${mq.steady.delivered} / ${mq.steady.sent}, ${f(mq.steady.cpuPct)}, ${f(mq.steady.rssMb)}` : '–', '')
  row('idle RSS MB', f(hub.idle.idleRssMb, 1), mq ? f(mq.idle.idleRssMb, 1) : '–', '< 60')
  row(`kB per idle phone (${hub.idle.phones}, subscribed to …/cmd)`, f(hub.idle.perPhoneKb, 1), mq ? f(mq.idle.perPhoneKb, 1) : '–', '≤ 20')
  if (hist) {
    row(`1-day window (${hist.dayMs.points} points) from a year of minutes, p50 / p95 ms`, `${f(hist.dayMs.p50, 1)} / ${f(hist.dayMs.p95, 1)}`, '–', '< 20')
    row(`the year (${hist.year.points} points, format=${hist.year.format}): points/s, s`, `${f(hist.year.perS)}, ${f(hist.year.seconds, 2)}`, '–', '≥ 200,000/s')
    row('hub peak RSS MB after the year query', f(hist.year.peakRssMb), '–', '< 150')
    row(`/api/0/last over ${hist.lastMs.devices} devices, p50 / p95 ms`, `${f(hist.lastMs.p50, 1)} / ${f(hist.lastMs.p95, 1)}`, '–', '< 50')
    row('start-up with that history, ms (spawn → running)', f(hist.startupMs), '–', '< 2000')
  }
  return ['| | owntracks-hub | Mosquitto | target |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'othub-bench-'))
  try {
    if (a.cluster) {
      const runs = await clusterBench(dir, n('cluster'), { phones: n('phones'), window: n('window'), seconds: n('seconds'), subs: n('subs') }, log)
      const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`
      const out = `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — cluster, ${machine}; ${n('phones')} phones × ${n('window')} in flight, ${n('subs')} subscribers; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end\n\n${clusterTable(runs)}\n`
      process.stdout.write(`\n${out}`)
      if (a.record) appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), `\n${out}`)
      return
    }
    let round = 0
    const hubData = () => join(dir, `hub${++round}`, 'data')
    // Each phase gets a fresh data directory with the same users.
    const nodeArgs = [...(a.profile ? ['--cpu-prof', `--cpu-prof-dir=${a.profile}`] : []), ...(a['node-args']?.split(' ').filter(Boolean) ?? [])]
    const startFresh = async () => { const d = hubData(); const t = await startHub(d, [], nodeArgs); addUsers(d); await new Promise((r) => setTimeout(r, 1500)); return t }
    const runs: Run[] = [await measure(startFresh)]
    const version = mosquittoVersion()
    if (version && !a['no-mosquitto']) {
      const first = join(dir, 'hub1', 'data')
      const adminPw = readFileSync(join(first, 'initial-admin-password'), 'utf8').trim()
      let k = 0
      runs.push(await measure(() => startMosquitto(join(dir, `mosquitto${++k}`), first, adminPw)))
    } else log(version ? 'Mosquitto skipped (--no-mosquitto)' : 'Mosquitto not installed (/usr/sbin/mosquitto): no ratio')
    let hist: HistoryResult | undefined
    if (!a['no-history']) {
      const d = join(dir, 'history', 'data')
      const t = await startHub(d)
      await t.stop()
      await seed(d, log)
      log('history: start-up, a day, a year, /last')
      hist = await historyTargets(d)
    }
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}${version ? `, Mosquitto ${version}` : ''}`
    const out = `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${machine}\n\n${table(runs, hist)}\n`
    process.stdout.write(`\n${out}`)
    if (runs[1]) process.stdout.write(`\nacknowledged msg/s, hub ÷ Mosquitto: ${(runs[0].thr.ackedPerS / runs[1].thr.ackedPerS).toFixed(2)}\n`)
    if (a.record) appendFileSync(new URL('../../bench/RESULTS.md', import.meta.url), `\n${out}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: Error) => { console.error(err.stack ?? err.message); process.exitCode = 1 })
