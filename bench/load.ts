import { WireClient } from '../test/helpers/wire.js'
import { USERS, usage, type Target } from './targets.js'

/** A phone's location, with the send time (`bt`, ms on this process's clock) for the latency. */
const payload = (tst: number) => `{"_type":"location","tid":"bp","lat":52.5163,"lon":13.3777,"alt":38,"acc":9,"vac":3,"batt":77,"bs":1,"conn":"m","tst":${tst},"bt":${performance.now().toFixed(3)}}`
const sentAt = (p: Buffer) => { const s = p.toString('latin1'); return Number(s.slice(s.lastIndexOf('"bt":') + 5, -1)) }

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

interface Phone { c: WireClient; topic: string }

async function connectPhones(t: Target, n: number, opts: { subscribeCmd?: boolean; keepalive?: number } = {}): Promise<Phone[]> {
  const phones: Phone[] = []
  for (let i = 0; i < n; i += 200) {
    phones.push(...await Promise.all(Array.from({ length: Math.min(200, n - i) }, async (_, k) => {
      const user = USERS[(i + k) % USERS.length]
      const device = `d${i + k}`
      const c = await WireClient.open(t.mqttPort, { clientId: `${user}${device}`, username: user, password: t.password, clean: false, keepalive: opts.keepalive ?? 60 })
      if (opts.subscribeCmd) await c.subscribe(`owntracks/${user}/${device}/cmd`, 1)
      return { c, topic: `owntracks/${user}/${device}` }
    })))
  }
  return phones
}

async function subscribers(t: Target, n: number, onMessage: (p: Buffer) => void): Promise<WireClient[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const c = await WireClient.open(t.mqttPort, { clientId: `bench-sub-${i}`, username: t.admin.user, password: t.admin.password, keepalive: 60 })
    c.onMessage = (m) => onMessage(m.payload)
    await c.subscribe('owntracks/#', 1)
    return c
  }))
}

export interface ThroughputResult {
  phones: number
  window: number
  seconds: number
  ackedPerS: number
  acked: number
  delivered: number
  expected: number
  p50: number; p95: number; p99: number
  peakRssMb: number
  cpuPct: number
  /** CPU-seconds of all the target's processes, and the messages acknowledged, inside the measured window. */
  cpuS: number
  ackedInWindow: number
  /** CPU % of this process (the harness: phones and subscribers) in the measured window: near 100 it is the limit, not the target. */
  harnessCpuPct: number
  http?: { requests: number; failed: number; p50: number; p95: number }
}

/**
 * N phones, each with `window` retained QoS 1 publishes in flight, and `subs` subscribers on
 * owntracks/#; measures over `seconds` after a warm-up. With an HTTP port and `http` (the default), one
 * client keeps asking /api/0/last and a page of /api/0/locations meanwhile.
 */
export async function throughput(t: Target, o: { phones: number; window: number; seconds: number; subs: number; http?: boolean }): Promise<ThroughputResult> {
  let delivered = 0
  const lat: number[] = []
  let measuring = false
  const subs = await subscribers(t, o.subs, (p) => { delivered++; if (measuring) lat.push(performance.now() - sentAt(p)) })
  const phones = await connectPhones(t, o.phones)
  let acked = 0
  let ackedInWindow = 0
  let stop = false
  let tst = 1_700_000_000
  const loops = phones.flatMap((p) => Array.from({ length: o.window }, async () => {
    while (!stop) {
      if (!await p.c.publish(p.topic, payload(tst++), 1, true)) return
      acked++
      if (measuring) ackedInWindow++
    }
  }))
  const http: number[] = []
  let httpFailed = 0
  const asking = t.httpPort !== undefined && o.http !== false
  const httpLoop = asking ? (async () => {
    const auth = 'Basic ' + Buffer.from(`${t.admin.user}:${t.admin.password}`).toString('base64')
    const paths = ['/api/0/last', `/api/0/locations?user=${USERS[0]}&device=d0&limit=100`]
    for (let i = 0; !stop; i++) {
      const t0 = performance.now()
      try {
        const res = await fetch(`http://127.0.0.1:${t.httpPort}${paths[i % 2]}`, { headers: { authorization: auth } })
        await res.arrayBuffer()
        if (measuring) http.push(performance.now() - t0)
      } catch {
        // through a load balancer that took a saturated node out of rotation: counted, asked again
        httpFailed++
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  })() : Promise.resolve()
  await new Promise((r) => setTimeout(r, 2000)) // warm-up
  const u0 = usage(t.proc.pid!)
  const pids = t.pids?.() ?? [t.proc.pid!]
  const c0 = pids.map((p) => usage(p).cpuS)
  const t0 = performance.now()
  const h0 = process.cpuUsage()
  measuring = true
  await new Promise((r) => setTimeout(r, o.seconds * 1000))
  measuring = false
  const wall = (performance.now() - t0) / 1000
  const h1 = process.cpuUsage(h0)
  const u1 = usage(t.proc.pid!)
  const cpuS = pids.map((p, i) => usage(p).cpuS - c0[i]).reduce((a, b) => a + b, 0)
  stop = true
  await Promise.all([...loops, httpLoop])
  const expected = acked * o.subs
  for (let last = -1; delivered < expected && delivered !== last;) { last = delivered; await new Promise((r) => setTimeout(r, 1000)) }
  await Promise.all([...phones.map((p) => p.c.close()), ...subs.map((s) => s.close())])
  lat.sort((a, b) => a - b)
  http.sort((a, b) => a - b)
  return {
    phones: o.phones, window: o.window, seconds: o.seconds, ackedPerS: ackedInWindow / wall, acked, delivered, expected,
    p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99),
    peakRssMb: usage(t.proc.pid!).peakKb / 1024, cpuPct: ((u1.cpuS - u0.cpuS) / wall) * 100, cpuS, ackedInWindow,
    harnessCpuPct: ((h1.user + h1.system) / 1e6 / wall) * 100,
    http: asking ? { requests: http.length, failed: httpFailed, p50: percentile(http, 50), p95: percentile(http, 95) } : undefined,
  }
}

export interface SteadyResult {
  phones: number; rate: number; warmup: number; sent: number; delivered: number; p50: number; p95: number; p99: number; cpuPct: number; rssMb: number; harnessCpuPct: number
  /** The first `warmup` seconds, not in the figures above: each phone's first fixes, and code V8 has not optimised yet. */
  start: { p50: number; p99: number; cpuPct: number }
}

/**
 * `phones` connections publishing `rate` msg/s in total, evenly spread; one subscriber on owntracks/#.
 * Each fix is stamped with the time it is sent, as a phone does (a phone publishes every rate/phones s, so
 * its stamps are distinct): a fix of a day long past is an import or a phone's offline backlog, which
 * makes that day again in the background, and is not what a steady stream of phones is. The rate runs for
 * `warmup` seconds before `seconds` are measured, as the throughput phase warms up before it measures: a
 * target's start-up (every phone's first fix, code not yet optimised) is reported apart, as `start`.
 */
export async function steady(t: Target, o: { phones: number; rate: number; seconds: number; warmup: number }): Promise<SteadyResult> {
  const lat: number[] = []
  const early: number[] = []
  /** When the measured seconds began, on the clock of the send stamps. */
  let measuredFrom = Infinity
  const subs = await subscribers(t, 1, (p) => {
    const at = sentAt(p)
    ;(at >= measuredFrom ? lat : early).push(performance.now() - at)
  })
  const phones = await connectPhones(t, o.phones)
  await new Promise((r) => setTimeout(r, 1000))
  let sent = 0
  let next = 0
  const pids = t.pids?.() ?? [t.proc.pid!]
  const cpuS = () => pids.reduce((a, p) => a + usage(p).cpuS, 0)
  const w0 = cpuS()
  const t0 = performance.now()
  let c0 = 0
  let h0 = process.cpuUsage()
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now()
      if (measuredFrom === Infinity && now - t0 >= o.warmup * 1000) {
        c0 = cpuS()
        h0 = process.cpuUsage()
        measuredFrom = now
      }
      const due = Math.floor(((now - t0) / 1000) * o.rate)
      for (; sent < due; sent++) {
        const p = phones[next++ % phones.length]
        void p.c.publish(p.topic, payload(Math.floor(Date.now() / 1000)), 1, true)
      }
      if (now - measuredFrom >= o.seconds * 1000) { clearInterval(tick); resolve() }
    }, 2)
  })
  const c1 = cpuS()
  const wall = (performance.now() - measuredFrom) / 1000
  const h1 = process.cpuUsage(h0)
  const rssMb = usage(t.proc.pid!).rssKb / 1024
  for (let last = -1; lat.length + early.length < sent && lat.length + early.length !== last;) { last = lat.length + early.length; await new Promise((r) => setTimeout(r, 1000)) }
  await Promise.all([...phones.map((p) => p.c.close()), ...subs.map((s) => s.close())])
  lat.sort((a, b) => a - b)
  early.sort((a, b) => a - b)
  return {
    phones: o.phones, rate: o.rate, warmup: o.warmup, sent, delivered: lat.length + early.length,
    p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), cpuPct: ((c1 - c0) / wall) * 100, rssMb, harnessCpuPct: ((h1.user + h1.system) / 1e6 / wall) * 100,
    start: { p50: percentile(early, 50), p99: percentile(early, 99), cpuPct: ((c0 - w0) / ((measuredFrom - t0) / 1000)) * 100 },
  }
}

export interface IdleResult { phones: number; idleSeconds: number; idleRssMb: number; withPhonesRssMb: number; perPhoneKb: number }

/**
 * RSS of the idle target, then with `n` phones connected (persistent sessions, each subscribed to its
 * cmd) after they have been idle for `idleSeconds`: what a household's phones cost between fixes.
 */
export async function idle(t: Target, n: number, idleSeconds = 30): Promise<IdleResult> {
  await new Promise((r) => setTimeout(r, 1000))
  const before = usage(t.proc.pid!).rssKb
  const phones = await connectPhones(t, n, { subscribeCmd: true })
  await new Promise((r) => setTimeout(r, idleSeconds * 1000))
  const after = usage(t.proc.pid!).rssKb
  await Promise.all(phones.map((p) => p.c.close()))
  return { phones: n, idleSeconds, idleRssMb: before / 1024, withPhonesRssMb: after / 1024, perPhoneKb: (after - before) / n }
}
