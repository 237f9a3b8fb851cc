import type { ChildProcess } from 'node:child_process'

/**
 * Child processes a test file started and has not stopped yet. When the test runner ends a file
 * (a timeout sends SIGTERM) or the file exits without its `after` hooks, they would live on as
 * orphans holding ports and CPU, and slow every later test on the machine: kill them with it.
 */
const live = new Set<ChildProcess>()
let installed = false

function killAll(): void {
  for (const p of live) { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL') }
  live.clear()
}

export function reapOnExit(proc: ChildProcess): ChildProcess {
  live.add(proc)
  proc.once('exit', () => live.delete(proc))
  if (!installed) {
    installed = true
    process.once('exit', killAll)
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(sig, () => { killAll(); process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15)) })
    }
  }
  return proc
}
