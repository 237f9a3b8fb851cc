import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, type RunningHub } from './hub.js'

/** Adds users with password `<name>-pw` through the CLI, and waits until the running hub has read them all. */
export async function addUsers(hub: RunningHub, ...names: string[]): Promise<void> {
  const since = hub.logs().length
  for (const u of names) assert.equal((await runCli(['user', 'add', u, '--password', `${u}-pw`, '--data', hub.dataDir])).code, 0)
  const count = readFileSync(join(hub.dataDir, 'passwd'), 'utf8').split('\n').filter((l) => l.includes(':')).length
  await hub.waitForLog(new RegExp(`Reloaded users: ${count} `), 3000, since)
}
