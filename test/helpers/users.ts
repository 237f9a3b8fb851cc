import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, type RunningHub } from './hub.js'

/** Every test user's password: `<name>-pw`. */
export const pw = (user: string): string => `${user}-pw`

/** Credentials for hub.http() of a user made by addUsers or createUsers. */
export const as = (user: string): { user: string; password: string } => ({ user, password: pw(user) })

/** Adds users with password `<name>-pw` through the CLI, and waits until the running hub has read them all. */
export async function addUsers(hub: RunningHub, ...names: string[]): Promise<void> {
  const since = hub.logs().length
  for (const u of names) assert.equal((await runCli(['user', 'add', u, '--password', pw(u), '--data', hub.dataDir])).code, 0)
  const count = readFileSync(join(hub.dataDir, 'passwd'), 'utf8').split('\n').filter((l) => l.includes(':')).length
  await hub.waitForLog(new RegExp(`Reloaded users: ${count} `), 5000, since)
}

/** Creates users before the hub starts (`admin: true` for admins), with password `<name>-pw`. */
export async function createUsers(dataDir: string, users: string[] | Record<string, { admin?: boolean }>): Promise<void> {
  mkdirSync(dataDir, { recursive: true })
  const all = Array.isArray(users) ? Object.fromEntries(users.map((u) => [u, {}])) as Record<string, { admin?: boolean }> : users
  for (const [name, o] of Object.entries(all)) {
    const r = await runCli(['user', 'add', name, '--password', pw(name), '--data', dataDir, ...(o.admin ? ['--admin'] : [])])
    if (r.code !== 0) throw new Error(`user add ${name} failed: ${r.stderr}`)
  }
}
