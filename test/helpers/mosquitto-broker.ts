import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { reapOnExit } from './reap.js'

/*
 * Debian's real Mosquitto broker, the reference the access rules are checked against
 * (`apt-get install mosquitto mosquitto-clients`; a missing binary is a broken set-up, not a reason to skip).
 */

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

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

const portOpen = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
  s.on('error', () => resolve(false))
})

export interface Mosquitto { proc: ChildProcess; aclPort: number; openPort: number; log(): string }

/**
 * Mosquitto with two listeners sharing one message space: `aclPort` enforces the acl_file (and the
 * password file, anonymous allowed), `openPort` has no rules, to plant and inspect retained messages.
 * Resolves null if Mosquitto refused the configuration.
 */
export async function startMosquitto(dir: string, aclText: string, passwdFile?: string): Promise<Mosquitto | null> {
  // A free port can be taken by a parallel test before Mosquitto binds it: that is no verdict on the config.
  for (let attempt = 1; ; attempt++) {
    const r = await startOnce(dir, aclText, passwdFile)
    if (r !== 'port taken' || attempt === 5) return r === 'port taken' ? null : r
  }
}

async function startOnce(dir: string, aclText: string, passwdFile?: string): Promise<Mosquitto | null | 'port taken'> {
  const aclPort = await freePort()
  const openPort = await freePort()
  await writeFile(join(dir, 'acl'), aclText)
  // As root, Mosquitto drops to user 'mosquitto', which cannot read our 0700 temp dir.
  const asRoot = process.getuid?.() === 0 ? ['user root'] : []
  await writeFile(join(dir, 'mosquitto.conf'), [
    ...asRoot, 'per_listener_settings true',
    `listener ${aclPort} 127.0.0.1`, 'allow_anonymous true', `acl_file ${join(dir, 'acl')}`,
    ...(passwdFile ? [`password_file ${passwdFile}`] : []),
    `listener ${openPort} 127.0.0.1`, 'allow_anonymous true', '',
  ].join('\n'))
  const proc = reapOnExit(spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }))
  let log = ''
  proc.stdout!.on('data', (b: Buffer) => (log += b))
  proc.stderr!.on('data', (b: Buffer) => (log += b))
  const deadline = Date.now() + 5000
  for (;;) {
    if (proc.exitCode !== null) return /Address already in use/i.test(log) ? 'port taken' : null
    if (await portOpen(openPort) && await portOpen(aclPort)) return { proc, aclPort, openPort, log: () => log }
    if (Date.now() > deadline) { await stop(proc); assert.fail(`mosquitto did not start:\n${log}`) }
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
  const gone = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGTERM')
  await gone
}

