import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { tempDir } from './hub.js'
import { requireTool } from './mosquitto.js'
import { reapOnExit } from './reap.js'

export const MOSQUITTO = '/usr/sbin/mosquitto'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export interface Mosquitto {
  port: number
  logs(): string
  stop(): Promise<void>
  /** Stops and starts again on the same port, as `systemctl restart mosquitto` would. */
  restart(): Promise<void>
}

/**
 * Debian's real Mosquitto on a free loopback port, anonymous, without persistence. As root it would
 * switch to the `mosquitto` user, which may not read our temp files: `user root` keeps it as it is.
 */
export async function startMosquitto(o: { extra?: string[] } = {}): Promise<Mosquitto> {
  requireTool(MOSQUITTO)
  const port = await freePort()
  const dir = tempDir('othub-mosquitto-')
  const conf = join(dir, 'mosquitto.conf')
  const log = join(dir, 'mosquitto.log')
  // A log file, not stdout: Mosquitto block-buffers stdout on a pipe, but writes its log file line by line.
  // `extra` lines (password_file, acl_file, allow_anonymous false …) come last: Mosquitto takes the last value.
  writeFileSync(conf, `user root\nlistener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest file ${log}\nlog_type all\n${(o.extra ?? []).map((l) => l + '\n').join('')}`)
  const logs = () => { try { return readFileSync(log, 'utf8') } catch { return '' } }
  let proc: ChildProcess
  const start = async () => {
    proc = reapOnExit(spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' }))
    const deadline = Date.now() + 10_000
    while (!(await accepts(port))) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited ${proc.exitCode}: ${logs()}`)
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}: ${logs()}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const stop = () => new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once('exit', () => resolve())
    proc.kill('SIGTERM')
  })
  await start()
  return { port, logs, stop, async restart() { await stop(); await start() } }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}
