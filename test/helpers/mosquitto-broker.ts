import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './hub.js'
import { requireTool } from './mosquitto.js'
import { accepts, freePort } from './ports.js'
import { reapOnExit } from './reap.js'

/*
 * Debian's real Mosquitto broker: the reference the access rules and password files are checked against,
 * and the friend's broker the bridges talk to (`apt-get install mosquitto mosquitto-clients`; a missing
 * binary is a broken set-up, not a reason to skip).
 */
export const MOSQUITTO = '/usr/sbin/mosquitto'

export function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (b: Buffer) => (stdout += b))
    p.stderr.on('data', (b: Buffer) => (stderr += b))
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('error', reject)
    p.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }) })
  })
}

/** Mosquitto would not run with the configuration it was given (its own words are in the message). */
export class MosquittoRefused extends Error {}

export interface Mosquitto {
  /** The first listener's port; `ports` has all of them, in the order `conf` was given them. */
  port: number
  ports: number[]
  proc: ChildProcess
  /** Its log (a log file, written line by line) and whatever it printed before it could open that. */
  logs(): string
  stop(): Promise<void>
  /** Stops and starts again on the same ports, as `systemctl restart mosquitto` would. */
  restart(): Promise<void>
}

export interface MosquittoOptions {
  /** The configuration's lines for the free loopback ports picked for it (`listeners` of them). */
  conf: (ports: number[], dir: string) => string[]
  listeners?: number
  /** Where the configuration and the log go; a new temp dir by default. */
  dir?: string
}

/**
 * Starts Mosquitto and resolves once every listener accepts connections; throws MosquittoRefused when
 * Mosquitto exits on the configuration. A free port taken by a parallel test before Mosquitto binds it is
 * no verdict on the configuration: then it tries other ports.
 */
export async function startMosquitto(o: MosquittoOptions): Promise<Mosquitto> {
  requireTool(MOSQUITTO)
  const dir = o.dir ?? tempDir('othub-mosquitto-')
  for (let attempt = 1; ; attempt++) {
    const ports = await Promise.all(Array.from({ length: o.listeners ?? 1 }, freePort))
    try {
      return await startOn(dir, ports, o.conf(ports, dir))
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 5) throw err
    }
  }
}

class PortTaken extends Error {}

async function startOn(dir: string, ports: number[], lines: string[]): Promise<Mosquitto> {
  const conf = join(dir, 'mosquitto.conf')
  const logFile = join(dir, 'mosquitto.log')
  // As root, Mosquitto drops to user 'mosquitto', which cannot read our 0700 temp dir.
  const asRoot = process.getuid?.() === 0 ? ['user root'] : []
  // A log file, not stdout: Mosquitto block-buffers stdout on a pipe, but writes its log file line by line.
  await writeFile(conf, [...asRoot, `log_dest file ${logFile}`, 'log_type all', ...lines, ''].join('\n'))
  let printed = ''
  const logs = () => { try { return printed + readFileSync(logFile, 'utf8') } catch { return printed } }
  let proc!: ChildProcess
  const start = async () => {
    proc = reapOnExit(spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }))
    proc.stdout!.on('data', (b: Buffer) => (printed += b))
    proc.stderr!.on('data', (b: Buffer) => (printed += b))
    const deadline = Date.now() + 10_000
    for (;;) {
      if (proc.exitCode !== null) {
        if (/Address already in use/i.test(logs())) throw new PortTaken()
        throw new MosquittoRefused(`mosquitto exited ${proc.exitCode}: ${logs()}`)
      }
      if ((await Promise.all(ports.map(accepts))).every(Boolean)) return
      if (Date.now() > deadline) { await stop(); throw new Error(`mosquitto did not listen on ${ports.join(', ')}: ${logs()}`) }
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const stop = () => new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once('exit', () => resolve())
    proc.kill('SIGTERM')
  })
  await start()
  return { port: ports[0], ports, get proc() { return proc }, logs, stop, async restart() { await stop(); await start() } }
}

/** Anonymous Mosquitto on one loopback port, without persistence. */
export function startPlainMosquitto(): Promise<Mosquitto> {
  return startMosquitto({ conf: ([port]) => [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false'] })
}

/**
 * Mosquitto with two listeners sharing one message space: the first enforces `aclText` (and the
 * password file, anonymous allowed), the second (`ports[1]`) has no rules, to plant and inspect
 * retained messages.
 */
export type AclMosquitto = Mosquitto & { aclPort: number; openPort: number }

export async function startMosquittoWithAcl(dir: string, aclText: string, passwdFile?: string): Promise<AclMosquitto> {
  await writeFile(join(dir, 'acl'), aclText)
  const m = await startMosquitto({
    dir, listeners: 2,
    conf: ([aclPort, openPort]) => [
      'per_listener_settings true',
      `listener ${aclPort} 127.0.0.1`, 'allow_anonymous true', `acl_file ${join(dir, 'acl')}`,
      ...(passwdFile ? [`password_file ${passwdFile}`] : []),
      `listener ${openPort} 127.0.0.1`, 'allow_anonymous true',
    ],
  })
  return Object.assign(m, { aclPort: m.ports[0], openPort: m.ports[1] })
}
