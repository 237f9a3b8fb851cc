import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { reapOnExit } from './reap.js'

/** dist/src/cli.js, next to the compiled tests. */
export const CLI = resolve(fileURLToPath(new URL('../../src/cli.js', import.meta.url)))

export interface RunningHub {
  dataDir: string
  aclDir: string
  mqttPort: number
  httpPort: number
  adminPassword: string
  proc: ChildProcess
  /** Everything the hub printed so far. */
  logs(): string
  /** Resolves when a log line matching `re` has appeared (after `since` chars of the log). */
  waitForLog(re: RegExp, timeoutMs?: number, since?: number): Promise<string>
  stop(): Promise<void>
  /** SIGKILL, as a power cut of the process would. */
  kill9(): Promise<void>
  /** Starts again on the same data and ports. */
  restart(): Promise<RunningHub>
  http(path: string, init?: RequestInit & { user?: string; password?: string }): Promise<Response>
}

/** Every temp dir a test file made: removed when its process exits, whatever the test left in them. */
const made = new Set<string>()
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }) })

export function tempDir(prefix = 'othub-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  made.add(d)
  return d
}

export interface StartOptions {
  dataDir?: string
  aclDir?: string
  args?: string[]
  env?: Record<string, string>
  mqttPort?: number
  httpPort?: number
  /** How long the hub may take to start (default 60 s; the cluster tests start several at once with their databases). */
  startTimeoutMs?: number
}

/** Starts `owntracks-hub serve` as a child process on free loopback ports with a temp data dir. */
export async function startHub(o: StartOptions = {}): Promise<RunningHub> {
  const root = o.dataDir ? undefined : tempDir()
  const dataDir = o.dataDir ?? join(root!, 'data')
  const aclDir = o.aclDir ?? join(root ?? dataDir, 'acl')
  mkdirSync(aclDir, { recursive: true })
  const args = [CLI, 'serve', '--data', dataDir, '--acl-dir', aclDir, '--host', '127.0.0.1',
    '--mqtt-port', String(o.mqttPort ?? 0), '--http-port', String(o.httpPort ?? 0), '--mqtts-port', '0', '--https-port', '0', ...(o.args ?? [])]
  const proc = reapOnExit(spawn(process.execPath, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  const waiters = new Set<() => void>()
  const onData = (b: Buffer) => { out += b.toString(); for (const w of waiters) w() }
  proc.stdout!.on('data', onData)
  proc.stderr!.on('data', onData)
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => { for (const w of waiters) w(); r(code) }))

  const waitForLog = (re: RegExp, timeoutMs = 10_000, since = 0) => new Promise<string>((resolveP, reject) => {
    const check = () => {
      const m = re.exec(out.slice(since))
      if (m) { cleanup(); resolveP(m[0]); return true }
      if (proc.exitCode !== null || proc.signalCode !== null) { cleanup(); reject(new Error(`hub exited (${proc.exitCode ?? proc.signalCode}) before logging ${re}:\n${out}`)); return true }
      return false
    }
    const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${re} in hub log:\n${out}`)) }, timeoutMs)
    const cleanup = () => { clearTimeout(timer); waiters.delete(w) }
    const w = () => { check() }
    if (!check()) waiters.add(w)
  })

  // how long a start takes is no test's business: on a loaded machine it can take many seconds
  const startTimeout = o.startTimeoutMs ?? 60_000
  const mqttLine = await waitForLog(/listening mqtt 127\.0\.0\.1:(\d+)/, startTimeout)
  const httpLine = await waitForLog(/listening http 127\.0\.0\.1:(\d+)/, startTimeout)
  await waitForLog(/running; data in/, startTimeout)
  const mqttPort = Number(/:(\d+)$/.exec(mqttLine)![1])
  const httpPort = Number(/:(\d+)$/.exec(httpLine)![1])
  let adminPassword = ''
  try { adminPassword = readFileSync(join(dataDir, 'initial-admin-password'), 'utf8').trim() } catch { /* changed by the test */ }

  const hub: RunningHub = {
    dataDir, aclDir, mqttPort, httpPort, adminPassword, proc,
    logs: () => out,
    waitForLog,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM')
        // A graceful stop that hangs is a fault to report, not a reason to hang the test file.
        let timer: NodeJS.Timeout | undefined
        const stuck = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => { timer = setTimeout(() => r(true), 30_000) })])
        clearTimeout(timer)
        if (stuck) {
          proc.kill('SIGKILL')
          await exited
          throw new Error(`the hub did not stop within 30 s of SIGTERM; its log ends:\n${out.slice(-3000)}`)
        }
      }
      if (root) rmSync(root, { recursive: true, force: true })
    },
    async kill9() {
      proc.kill('SIGKILL')
      await exited
    },
    async restart() {
      if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGTERM'); await exited }
      const again = await startHub({ ...o, dataDir, aclDir, mqttPort, httpPort })
      const stopAgain = again.stop
      again.stop = async () => { await stopAgain(); if (root) rmSync(root, { recursive: true, force: true }) }
      return again
    },
    http(path, init = {}) {
      const headers = new Headers(init.headers)
      const user = init.user ?? 'admin'
      const password = init.password ?? (user === 'admin' ? adminPassword : '')
      if (init.user !== '') headers.set('authorization', 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'))
      return fetch(`http://127.0.0.1:${httpPort}${path}`, { ...init, headers })
    },
  }
  return hub
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs `owntracks-hub ARGS…` to completion. */
export function runCli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolveP) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (b: Buffer) => (stdout += b))
    p.stderr.on('data', (b: Buffer) => (stderr += b))
    p.stdin.end(opts.input ?? '')
    const t = setTimeout(() => { stderr += `owntracks-hub ${args.join(' ')} did not finish in 60 s`; p.kill('SIGKILL') }, 60_000)
    p.on('close', (code) => { clearTimeout(t); resolveP({ code, stdout, stderr }) })
  })
}

/** One value of the hub's /metrics (asked as admin); NaN when it is not there. */
export async function metric(hub: RunningHub, name: string): Promise<number> {
  const text = await (await hub.http('/metrics')).text()
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
}

export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const start = Date.now()
  let last: unknown
  while (Date.now() - start < timeoutMs) {
    try {
      const v = await fn()
      if (v) return v as NonNullable<T>
    } catch (err) { last = err }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
}
