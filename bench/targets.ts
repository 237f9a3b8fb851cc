import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hashPassword, readPasswdFile, writePasswdFile } from '../src/users/passwd.js'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/helpers/ports.js'

export const CLI = resolve(fileURLToPath(new URL('../src/cli.js', import.meta.url)))

/** A broker under test: where it listens, how to log in, its process for RSS/CPU. */
export interface Target {
  name: string
  mqttPort: number
  httpPort?: number
  proc: ChildProcess
  admin: { user: string; password: string }
  /** Password of every bench user `u0`…`u9`. */
  password: string
  startupMs: number
  /** All processes that do the target's work (a cluster's nodes), for CPU; default: proc. */
  pids?: () => number[]
  stop(): Promise<void>
}

/** One user per phone of the throughput phase (100 phones, each its own user); larger phases reuse them. */
export const USERS = Array.from({ length: 100 }, (_, i) => `u${i}`)
export const PASSWORD = 'bench-pw'

function waitForOutput(proc: ChildProcess, re: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolveP, reject) => {
    let out = ''
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${out}`)), timeoutMs)
    const on = (b: Buffer) => {
      out += b.toString()
      if (re.test(out)) { clearTimeout(t); resolveP(out) }
      if (out.length > 1e6) out = out.slice(-1e5)
    }
    proc.stdout?.on('data', on)
    proc.stderr?.on('data', on)
    proc.once('exit', (code) => { clearTimeout(t); reject(new Error(`exited ${code} before ${re}:\n${out}`)) })
  })
}

const stopper = (proc: ChildProcess) => async () => {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const done = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGTERM')
  await done
}

let benchHash: Promise<string> | undefined

/**
 * Adds the bench users to a running hub's password file (Mosquitto's format, which the hub re-reads
 * within a second). One hash serves every user: they share the password, and 100 `user add` runs
 * would take longer than the phase they prepare.
 */
export async function addUsers(dataDir: string): Promise<void> {
  const file = join(dataDir, 'passwd')
  mkdirSync(dataDir, { recursive: true })
  const { entries } = existsSync(file) ? await readPasswdFile(file) : { entries: new Map<string, string>() }
  const hash = await (benchHash ??= hashPassword(PASSWORD))
  for (const u of USERS) entries.set(u, hash)
  await writePasswdFile(file, entries)
}

/** The hub with its defaults (the whole pipeline on), on free loopback ports. */
export async function startHub(dataDir: string, extra: string[] = [], nodeArgs: string[] = [], o: { cli?: string; name?: string } = {}): Promise<Target> {
  mkdirSync(join(dataDir, '..', 'acl'), { recursive: true })
  const t0 = performance.now()
  const proc = spawn(process.execPath, [...nodeArgs, o.cli ?? CLI, 'serve', '--data', dataDir, '--acl-dir', join(dataDir, '..', 'acl'), '--host', '127.0.0.1',
    '--mqtt-port', '0', '--http-port', '0', '--mqtts-port', '0', '--max-connections', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out = await waitForOutput(proc, /running; data in/)
  const startupMs = performance.now() - t0
  proc.stdout!.resume()
  proc.stderr!.resume()
  const password = readFileSync(join(dataDir, 'initial-admin-password'), 'utf8').trim()
  return {
    name: o.name ?? 'owntracks-hub', proc, startupMs,
    mqttPort: Number(/listening mqtt 127\.0\.0\.1:(\d+)/.exec(out)![1]),
    httpPort: Number(/listening http 127\.0\.0\.1:(\d+)/.exec(out)![1]),
    admin: { user: 'admin', password }, password: PASSWORD, stop: stopper(proc),
  }
}

export const MOSQUITTO = '/usr/sbin/mosquitto'

export function mosquittoVersion(): string | undefined {
  if (!existsSync(MOSQUITTO)) return undefined
  return /version (\S+)/.exec(spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' }).stdout)?.[1]
}

/**
 * Debian's Mosquitto 2 configured like the hub: password file (the hub's own, unchanged), an ACL giving
 * each user its owntracks/<user>/# and the admin everything. Persistence off, as in the reference
 * table: Mosquitto's persistence is a snapshot on exit, not a write per message, so either way it never
 * waits for a disk before a PUBACK, and the hub does.
 */
export async function startMosquitto(dir: string, hubData: string, adminPassword: string): Promise<Target> {
  mkdirSync(join(dir, 'persist'), { recursive: true })
  copyFileSync(join(hubData, 'passwd'), join(dir, 'passwd'))
  writeFileSync(join(dir, 'acl'), 'pattern readwrite owntracks/%u/#\n\nuser admin\ntopic readwrite #\n')
  const port = await freePort()
  const root = process.getuid?.() === 0
  writeFileSync(join(dir, 'mosquitto.conf'), [
    `listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${join(dir, 'passwd')}`, `acl_file ${join(dir, 'acl')}`,
    'persistence false', 'max_queued_messages 1000000', 'log_dest stderr',
    ...(root ? ['user root'] : []), '',
  ].join('\n'))
  const t0 = performance.now()
  const proc = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] })
  await waitForOutput(proc, /mosquitto version \S+ running/)
  const startupMs = performance.now() - t0
  proc.stdout!.resume()
  proc.stderr!.resume()
  return { name: 'mosquitto', proc, startupMs, mqttPort: port, admin: { user: 'admin', password: adminPassword }, password: PASSWORD, stop: stopper(proc) }
}

/**
 * aedes 1.2 with nothing of ours (bench/bare-aedes.ts): in memory, or on aedes-persistence-level in `dir`.
 * The ceiling the hub's pipeline is measured against.
 */
export async function startAedes(dir: string, kind: 'memory' | 'level'): Promise<Target> {
  mkdirSync(dir, { recursive: true })
  const t0 = performance.now()
  const proc = spawn(process.execPath, [resolve(fileURLToPath(new URL('./bare-aedes.js', import.meta.url))), kind, join(dir, 'aedes')], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out = await waitForOutput(proc, /bare aedes listening (\d+)/)
  const startupMs = performance.now() - t0
  proc.stdout!.resume()
  proc.stderr!.resume()
  return {
    name: kind === 'memory' ? 'aedes in-memory' : 'aedes + level', proc, startupMs,
    mqttPort: Number(/bare aedes listening (\d+)/.exec(out)![1]),
    admin: { user: 'admin', password: 'any' }, password: PASSWORD, stop: stopper(proc),
  }
}

/** Resident memory now and at its peak (kB), and CPU seconds used so far, from /proc. */
export function usage(pid: number): { rssKb: number; peakKb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return {
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]),
    peakKb: Number(/VmHWM:\s+(\d+)/.exec(status)![1]),
    cpuS: (Number(fields[11]) + Number(fields[12])) / 100, // utime, stime in clock ticks (CLK_TCK 100)
  }
}
