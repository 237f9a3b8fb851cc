import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { reapOnExit } from './reap.js'

/** Debian's mosquitto-clients are part of the test set-up (.ci/run installs them); missing → a clear failure. */
export function requireTool(name: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${name}`])
  if (r.status !== 0) throw new Error(`${name} is not installed: run 'apt-get install mosquitto-clients mosquitto' (.ci/run does)`)
}

export interface PubResult { code: number | null; stderr: string }

export function mosquittoPub(args: string[]): Promise<PubResult> {
  requireTool('mosquitto_pub')
  return new Promise((resolve) => {
    const p = spawn('mosquitto_pub', ['-h', '127.0.0.1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    p.stderr.on('data', (b: Buffer) => (stderr += b))
    // a broker that never answers must fail the test, not hang it
    const t = setTimeout(() => { stderr += `mosquitto_pub ${args.join(' ')} got no answer in 20 s`; p.kill('SIGKILL') }, 20_000)
    p.on('close', (code) => { clearTimeout(t); resolve({ code, stderr }) })
  })
}

export interface Sub { proc: ChildProcess; lines: string[]; output(): string; waitForLines(n: number, timeoutMs?: number): Promise<string[]>; stop(): Promise<void> }

/** `mosquitto_sub -v …` in the background, collecting its lines; resolves once it is subscribed. */
export async function mosquittoSub(args: string[]): Promise<Sub> {
  requireTool('mosquitto_sub')
  // stdbuf: mosquitto_sub block-buffers its debug lines on a pipe, and we wait for the SUBACK line
  const proc = reapOnExit(spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-d', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }))
  let raw = ''
  let debug = ''
  const lines: string[] = []
  proc.stdout!.on('data', (b: Buffer) => {
    raw += b.toString()
    // -d interleaves debug lines ("Client … received …") with the -v output: keep only the message lines
    for (const l of b.toString().split('\n')) if (l && !/^Client |^Subscribed|^\s/.test(l)) lines.push(l)
  })
  proc.stderr!.on('data', (b: Buffer) => (debug += b.toString()))
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`mosquitto_sub did not subscribe: ${raw}${debug}`)), 5000)
    const check = () => { if (/Client .* received SUBACK/.test(raw)) { clearTimeout(t); resolve() } }
    proc.stdout!.on('data', check)
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`mosquitto_sub exited ${code}: ${raw}${debug}`)) })
  })
  return {
    proc, lines,
    output: () => raw,
    async waitForLines(n, timeoutMs = 5000) {
      const start = Date.now()
      while (lines.length < n) {
        if (Date.now() - start > timeoutMs) throw new Error(`expected ${n} lines from mosquitto_sub, got ${lines.length}: ${lines.join(' | ')}`)
        await new Promise((r) => setTimeout(r, 25))
      }
      return lines
    },
    async stop() {
      if (proc.exitCode !== null) return
      const done = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      // Under load mosquitto_sub sometimes deadlocks in its SIGTERM handler (asleep on a futex, its socket
      // left open): it would then hold the test, and the hub's shutdown, forever.
      const kill = setTimeout(() => proc.kill('SIGKILL'), 2000)
      await done
      clearTimeout(kill)
    },
  }
}
