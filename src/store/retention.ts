import type { Logger } from '../log.js'
import type { HistoryStore } from './types.js'

const DAY_S = 86_400

export interface Retention {
  /** Stops the schedule and waits for a pass that is running, so the store can close. */
  stop(): Promise<void>
}

/**
 * `--retention-days N`: deletes history older than N days, once right after start and then every
 * `everyMs`. 0 keeps everything and schedules nothing. A pass that fails is logged and retried at
 * the next one; it never stops the hub.
 */
export function scheduleRetention(history: HistoryStore, days: number, log: Logger, everyMs = 3_600_000): Retention {
  if (days <= 0) return { stop: async () => {} }
  let running: Promise<void> | undefined
  let passes = 0
  const pass = () => {
    if (running) return
    const before = Math.floor(Date.now() / 1000) - days * DAY_S
    const since = new Date(before * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    running = history.prune(before).then(({ locations, records }) => {
      const line = `Retention (--retention-days ${days}): deleted ${locations} locations and ${records} other messages from before ${since}`
      if (passes++ === 0 || locations + records > 0) log.info(line)
      else log.debug(line)
    }, (err: Error) => log.error(`Retention pass failed (will retry in ${Math.round(everyMs / 60_000)} min): ${err.message}`))
      .finally(() => { running = undefined })
  }
  const first = setTimeout(pass, 0)
  const timer = setInterval(pass, everyMs)
  timer.unref()
  return {
    async stop() {
      clearTimeout(first)
      clearInterval(timer)
      await running
    },
  }
}
