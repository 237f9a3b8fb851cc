import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { reapOnExit } from './reap.js'

/*
 * The one way the tests start a server process of their own (Mosquitto, Redis, HAProxy): spawned on
 * loopback ports they chose, killed with the test file if it ends early, ready when it says so or
 * answers, and stopped by its PID.
 */

export interface Started {
  proc: ChildProcess
  /** What it printed on stdout and stderr so far. */
  output(): string
  /** SIGTERM (or `signal`), resolved once it has exited; nothing to do if it is gone already. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

export interface StartProcessOptions {
  env?: NodeJS.ProcessEnv
  /** Ready when this holds: its output matches, or it answers (asked every 50 ms). */
  ready: RegExp | (() => boolean | Promise<boolean>)
  timeoutMs?: number
  /** The error for an exit before it was ready (default: its name, exit code and output). */
  exited?: (code: number | null, output: string) => Error
}

export async function startProcess(what: string, cmd: string, args: string[], o: StartProcessOptions): Promise<Started> {
  const opts: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env ? { env: o.env } : {}) }
  const proc = reapOnExit(spawn(cmd, args, opts))
  let out = ''
  proc.stdout!.on('data', (b: Buffer) => (out += b))
  proc.stderr!.on('data', (b: Buffer) => (out += b))
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once('exit', () => resolve())
    proc.kill(signal)
  })
  const ready = o.ready
  const isReady = ready instanceof RegExp ? () => ready.test(out) : ready
  const deadline = Date.now() + (o.timeoutMs ?? 20_000)
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw o.exited?.(proc.exitCode, out) ?? new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}):\n${out}`)
    if (await isReady()) return { proc, output: () => out, stop }
    if (Date.now() > deadline) { await stop('SIGKILL'); throw new Error(`${what} was not ready within ${o.timeoutMs ?? 20_000} ms:\n${out}`) }
    await new Promise((r) => setTimeout(r, 50))
  }
}
