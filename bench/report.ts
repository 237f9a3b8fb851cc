import { cpus } from 'node:os'
import type { HistoryResult } from './history.js'
import type { IdleResult, SteadyResult, ThroughputResult } from './load.js'

/** One target's figures; `load` is the machine's 1-minute load average when the phase ended. */
export interface Run {
  name: string
  thr: ThroughputResult & { load: number }
  load?: ThroughputResult & { load: number }
  steady: SteadyResult & { load: number }
  idle: IdleResult & { load: number }
}

interface Shape { phones: number; window: number; subs: number; loadPhones: number; steadyPhones: number; rate: number; steadyWarmup: number; idle: number; idleSeconds: number }

const f = (x: number | undefined, d = 0) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '–')
const at = (v: string, load: number) => `${v} (${load.toFixed(1)})`
const pct = (x: number, y: number) => (Number.isFinite(x / y) && y > 0 ? `${((x / y) * 100).toFixed(0)}%` : '–')
const times = (x: number, y: number) => (Number.isFinite(x / y) && y > 0 ? `${(x / y).toFixed(2)}×` : '–')
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**')

/**
 * The figures as one Markdown table: the hub, bare aedes (in memory, on LevelDB), Mosquitto, and the
 * hub's ratio to aedes in memory and to Mosquitto. Missing targets show as '–'.
 */
export function table(runs: Run[], o: Shape, hist?: HistoryResult): string {
  const hub = runs[0]
  const aedes = runs.find((r) => r.name === 'aedes in-memory')
  const level = runs.find((r) => r.name === 'aedes + level')
  const mq = runs.find((r) => r.name === 'mosquitto')
  const before = runs.find((r) => r.name === 'hub before')
  const cols = [hub, ...(before ? [before] : []), aedes, level, mq]
  const rows: string[][] = []
  const row = (what: string, cell: (r: Run) => string, ratio: (h: Run, other: Run) => string, target: string) =>
    rows.push([what, ...cols.map((r) => (r ? cell(r) : '–')), aedes ? ratio(hub, aedes) : '–', mq ? ratio(hub, mq) : '–', target])

  const thrOk = aedes ? hub.thr.ackedPerS >= 0.9 * aedes.thr.ackedPerS : false
  row(`acknowledged msg/s (${o.phones} phones, each its own user, × ${o.window} QoS 1 retained in flight, ${o.subs} subscriber on owntracks/#)`,
    (r) => at(f(r.thr.ackedPerS), r.thr.load), (h, x) => pct(h.thr.ackedPerS, x.thr.ackedPerS),
    `≥ 90% of aedes in-memory: ${aedes ? `${pct(hub.thr.ackedPerS, aedes.thr.ackedPerS)}, ${verdict(thrOk)}` : '–'}`)
  row('delivered / expected (acked × subscribers)', (r) => `${r.thr.delivered} / ${r.thr.expected}`, () => '', `100%: ${verdict(hub.thr.delivered === hub.thr.expected)}`)
  row('broker CPU % / harness CPU % during that (of one core)', (r) => `${f(r.thr.cpuPct)} / ${f(r.thr.harnessCpuPct)}`, () => '', '')
  row('broker CPU µs per acknowledged message (less sensitive to the machine\'s other load than msg/s)', (r) => f((r.thr.cpuS / r.thr.ackedInWindow) * 1e6),
    (h, x) => times(h.thr.cpuS / h.thr.ackedInWindow, x.thr.cpuS / x.thr.ackedInWindow), '')
  row('latency under saturation p50 / p99 ms', (r) => `${f(r.thr.p50, 1)} / ${f(r.thr.p99, 1)}`, () => '', '')
  if (hub.load) {
    row(`peak RSS MB, ${o.loadPhones} phones × ${o.window} in flight`, (r) => (r.load ? at(f(r.load.peakRssMb), r.load.load) : '–'),
      (h, x) => (h.load && x.load ? times(h.load.peakRssMb, x.load.peakRssMb) : '–'), `< 150: ${verdict(hub.load.peakRssMb < 150)}`)
    row(`${o.loadPhones} phones: delivered / expected (fewer: the subscriber was cut off as too slow)`, (r) => (r.load ? `${r.load.delivered} / ${r.load.expected}` : '–'), () => '', '')
    // a closed loop: a hub that answers sooner is asked more often, and its msg/s includes that work
    row(`${o.loadPhones} phones: meanwhile, HTTP answers to one client asking /api/0/last and a page of /api/0/locations in turn: count, p50 ms`, (r) => (r.load?.http ? `${r.load.http.requests}, ${f(r.load.http.p50, 1)}` : '–'), () => '', '')
  }
  row(`steady ${o.rate} msg/s from ${o.steadyPhones} phones, after ${o.steadyWarmup} s at that rate: p50 / p99 ms publish→subscriber`, (r) => at(`${f(r.steady.p50, 2)} / ${f(r.steady.p99, 2)}`, r.steady.load),
    (h, x) => times(h.steady.p99, x.steady.p99), `p99 ≤ 1.5: ${verdict(hub.steady.p99 <= 1.5)}`)
  row('steady: CPU % of one core (harness CPU %)', (r) => at(`${f(r.steady.cpuPct, 1)} (${f(r.steady.harnessCpuPct)})`, r.steady.load),
    (h, x) => times(h.steady.cpuPct, x.steady.cpuPct), `≤ 8: ${verdict(hub.steady.cpuPct <= 8)}`)
  row('steady: delivered / sent, RSS MB', (r) => `${r.steady.delivered} / ${r.steady.sent}, ${f(r.steady.rssMb)}`, () => '', '')
  // apart from the steady figures, not hidden: what phones see in the first seconds after a (re)start
  // (with --steady-warmup 0 there are no such seconds, so no row of dashes)
  if (o.steadyWarmup > 0) {
    row(`steady: its first ${o.steadyWarmup} s (each phone's first fixes, code not yet optimised): p50 / p99 ms, CPU %`,
      (r) => `${f(r.steady.start.p50, 2)} / ${f(r.steady.start.p99, 2)}, ${f(r.steady.start.cpuPct, 1)}`, (h, x) => times(h.steady.start.p99, x.steady.start.p99), '')
  }
  row('idle RSS MB', (r) => at(f(r.idle.idleRssMb, 1), r.idle.load), (h, x) => times(h.idle.idleRssMb, x.idle.idleRssMb), `≤ 50: ${verdict(hub.idle.idleRssMb <= 50)}`)
  row(`kB RSS per idle phone (${o.idle}, each subscribed to its /cmd, after ${o.idleSeconds} s idle)`, (r) => at(f(r.idle.perPhoneKb, 1), r.idle.load),
    (h, x) => times(h.idle.perPhoneKb, x.idle.perPhoneKb), `≤ 15: ${verdict(hub.idle.perPhoneKb <= 15)}`)
  const head = ['', 'owntracks-hub', ...(before ? ['hub before'] : []), 'aedes in-memory', 'aedes + level', 'Mosquitto', 'hub ÷ aedes in-memory', 'hub ÷ Mosquitto', 'target (hub)']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)]
  if (hist) lines.push('', historyTable(hist))
  return lines.join('\n')
}

/** The history targets as one Markdown table (beside the hub before a change, when it was measured). */
export function historyTable(hist: HistoryResult): string {
  const lines: string[] = []
  const b = hist.before
  const hrow = (what: string, now: string, was: string | undefined, target: string) => lines.push(`| ${what} | ${now} |${b ? ` ${was ?? '–'} |` : ''} ${target} |`)
  lines.push(`| history (the hub) | figure |${b ? ' hub before |' : ''} target |`, `|---|---|${b ? '---|' : ''}---|`)
  const day = (h: HistoryResult) => at(`${f(h.dayMs.p50, 1)} / ${f(h.dayMs.p95, 1)}`, h.load)
  hrow(`a day (${hist.dayMs.points} points) from a year of minutes, p50 / p95 ms`, day(hist), b && day(b), `p50 < 10: ${verdict(hist.dayMs.p50 < 10)}`)
  hist.years.forEach((y, i) => {
    const yb = b?.years[i]
    const rate = (x: typeof y) => at(`${f(x.perS)}, ${f(x.seconds, 2)}`, x.load)
    hrow(`the year (${y.points} points) as ${y.format}: points/s, s`, rate(y), yb && rate(yb), `≥ 300,000/s: ${verdict(y.perS >= 300_000)}`)
    hrow(`peak RSS MB of the hub serving it (${y.format})`, f(y.peakRssMb), yb && f(yb.peakRssMb), `< 120: ${verdict(y.peakRssMb < 120)}`)
  })
  hrow(`/api/0/last over ${hist.lastMs.devices} devices, p50 / p95 ms`, `${f(hist.lastMs.p50, 1)} / ${f(hist.lastMs.p95, 1)}`, b && `${f(b.lastMs.p50, 1)} / ${f(b.lastMs.p95, 1)}`, '')
  hrow('start-up with that history, ms (spawn → running)', f(hist.startupMs), b && f(b.startupMs), '')
  return lines.join('\n')
}

/**
 * What limited each target's throughput, read from the CPU figures: a process near one full core is the
 * limit (the harness, or the broker, which runs on one thread); with neither full, the broker was
 * waiting (for LevelDB where it has one, otherwise for a machine busy with other work).
 */
export function limits(runs: Run[]): string[] {
  const cores = cpus().length
  return runs.map((r) => {
    const { cpuPct: b, harnessCpuPct: h } = r.thr
    const busy = r.thr.load > cores ? `; the machine was busy (load ${r.thr.load.toFixed(1)} on ${cores} cores)` : ''
    let why: string
    if (h >= 90) why = `the harness (${f(h)}% of a core), not the broker (${f(b)}%)`
    else if (b >= 90) why = `the broker's CPU (${f(b)}% of one core; the harness at ${f(h)}%)`
    else if (r.name === 'owntracks-hub' || r.name === 'hub before' || r.name === 'aedes + level') why = `waiting for LevelDB round trips (broker ${f(b)}%, harness ${f(h)}% of a core)`
    else why = `neither process was at a full core (broker ${f(b)}%, harness ${f(h)}%): scheduling`
    return `- ${r.name}: ${why}${busy}.`
  })
}

const KEEP = '<!-- Everything below this line is written by hand and kept when `npm run bench` rewrites the file. -->'

/** bench/RESULTS.md: the method, the latest full run, what limited each, and the hand-written notes kept from before. */
export function resultsFile(o: { when: string; machine: string; table: string; limits: string[]; options: string; previous: string }): string {
  const cut = o.previous.indexOf(KEEP)
  const notes = cut >= 0 ? o.previous.slice(cut + KEEP.length).trimStart() : ''
  return `# Benchmark results

\`npm run bench\` (bench/run.ts) drives, one after the other on one harness in one run: the hub with its
defaults (auth, access rules, decoding, history committed before PUBACK, retained persistence, limits on;
\`--max-connections 0\` so that thousands of phones fit, \`--auth-rate-address 0\` because they all log in from
127.0.0.1), **bare aedes 1.2** in memory and on
aedes-persistence-level (bench/bare-aedes.ts: no login check, no decoding, no history), and Debian's
Mosquitto 2 (\`/usr/sbin/mosquitto\`, the hub's password file, \`pattern readwrite owntracks/%u/#\`,
persistence off); with \`--before DIR\`, also a build of an earlier checkout of the hub as "hub before".
Phones are raw MQTT 3.1.1 connections (test/helpers/wire.ts) with persistent sessions;
RSS and CPU are read from \`/proc/<pid>/status|stat\`, the harness's own CPU from \`process.cpuUsage()\`.
The throughput phase is MQTT alone (the brokers beside the hub serve no HTTP); in the 1,000-phone phase one
client also asks the hub's HTTP API in turn. The steady rate is measured once it has run for a few seconds,
its start-up shown apart. Each phase starts its target fresh. The figure in parentheses is the machine's
1-minute load average when it was taken: this machine has ${cpus().length} cores shared with other work, so compare ratios within one run,
not figures across runs. \`npm run bench -- --quick\` prints the same table with shorter phases; a full run
rewrites this file down to the line that keeps the notes.

## Latest full run: ${o.when}

${o.machine}${o.options ? `; options \`${o.options}\`` : ''}

${o.table}

What limited the throughput of each:

${o.limits.join('\n')}

${KEEP}

${notes}`
}
