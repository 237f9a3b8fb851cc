import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunningHub } from './hub.js'

/**
 * Replaces acl/sharing.yml as an editor does (write aside, rename over) and waits until the hub has
 * applied it or refused it; returns the hub's log line about it.
 */
export async function writeRules(hub: RunningHub, yaml: string, file = 'sharing.yml'): Promise<string> {
  const since = hub.logs().length
  const path = join(hub.aclDir, file)
  writeFileSync(path + '.new', yaml)
  renameSync(path + '.new', path)
  return hub.waitForLog(/Reloaded access rules from .*|.*the previous access rules stay in force/, 5000, since)
}
