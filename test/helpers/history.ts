import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { LevelHistory } from '../../src/store/history-level.js'
import type { HistoryRecord } from '../../src/store/types.js'
import { runCli } from './hub.js'

/** A location record for `user/device` at `tst`, as the hub stores what a phone publishes. */
export function loc(user: string, device: string, tst: number, over: Record<string, unknown> = {}): HistoryRecord {
  return {
    user, device, topic: `owntracks/${user}/${device}`,
    message: { _type: 'location', tid: device.slice(-2), lat: 48 + (tst % 1000) / 10_000, lon: 2 + (tst % 777) / 10_000, tst, acc: 10, ...over },
  }
}

export function card(user: string, device: string, name: string, face?: string): HistoryRecord {
  return { user, device, topic: `owntracks/${user}/${device}/info`, at: 1700000000, message: { _type: 'card', name, ...(face ? { face } : {}) } }
}

/** Writes records straight into `<data>/history` while no hub runs, in batches as they come. */
export async function seedHistory(dataDir: string, batches: Iterable<HistoryRecord[]> | AsyncIterable<HistoryRecord[]>): Promise<void> {
  const h = await LevelHistory.open(join(dataDir, 'history'))
  try {
    for await (const b of batches) await h.write(b)
  } finally {
    await h.close()
  }
}

/** Creates users before the hub starts (`admin: true` for admins); the password is `<name>-pw`. */
export async function addUsers(dataDir: string, users: Record<string, { admin?: boolean }>): Promise<void> {
  mkdirSync(dataDir, { recursive: true })
  for (const [name, o] of Object.entries(users)) {
    const r = await runCli(['user', 'add', name, '--password', `${name}-pw`, '--data', dataDir, ...(o.admin ? ['--admin'] : [])])
    if (r.code !== 0) throw new Error(`user add ${name} failed: ${r.stderr}`)
  }
}

/** Credentials for hub.http() of a user made by addUsers. */
export const as = (user: string): { user: string; password: string } => ({ user, password: `${user}-pw` })
