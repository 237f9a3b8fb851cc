import { join } from 'node:path'
import { LevelHistory } from '../../src/store/history-level.js'
import type { HistoryRecord } from '../../src/store/types.js'

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
