import type { Logger } from '../log.js'

/** The part of a LevelDB handle (abstract-level) the guard wraps. */
interface Writable {
  status: string
  put(...args: unknown[]): Promise<void>
  del(...args: unknown[]): Promise<void>
  batch(...args: unknown[]): unknown
  clear(...args: unknown[]): Promise<void>
  open(): Promise<void>
  close(): Promise<void>
}

export interface WriteGuard {
  /** Why writes are refused now (the disk was full), or undefined. */
  trouble(): string | undefined
  stop(): void
}

export interface GuardOptions {
  /** Called after each array batch with its duration: the history's group commits. */
  onBatch?: (seconds: number) => void
  retryMs?: number
}

const isIoError = (err: unknown) => {
  const e = err as { code?: string; message?: string; cause?: { message?: string } }
  return e?.code === 'LEVEL_IO_ERROR' || /IO error|No space|ENOSPC|EIO/.test(`${e?.message} ${e?.cause?.message ?? ''}`)
}

/**
 * After a failed write (a full disk) LevelDB's log is left misaligned: it keeps accepting writes, but
 * what it accepts is unreadable on the next open, so it would be lost after a restart. So after the
 * first I/O error every write is refused (a publish is then not acknowledged: the phone keeps it) and
 * the database is closed and reopened — which replays the intact part of the log and starts a new one —
 * every `retryMs` until that succeeds, i.e. once there is room again. Then writes are accepted again.
 * Reads fail only during the reopen itself.
 */
export function guardWrites(db: Writable, name: string, log: Logger, o: GuardOptions = {}): WriteGuard {
  let broken: string | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let lastReport = 0
  const retryMs = o.retryMs ?? 2000

  const refuse = () => Promise.reject(Object.assign(new Error(`the ${name} database refuses writes until it can be reopened: ${broken}`), { code: 'LEVEL_IO_ERROR' }))

  const failed = (err: unknown) => {
    if (!isIoError(err) || broken !== undefined) return
    broken = (err as Error).message
    log.error(`The ${name} database cannot write: ${broken}. Free space on that disk; until then writes are refused (publishes are not acknowledged, phones keep them) and the hub retries every ${retryMs / 1000} s.`)
    schedule()
  }

  const schedule = () => {
    if (stopped) return
    timer = setTimeout(async () => {
      try {
        if (db.status === 'open') await db.close()
        await db.open()
        log.warn(`The ${name} database is writable again (reopened after: ${broken}).`)
        broken = undefined
      } catch (err) {
        if (Date.now() - lastReport > 60_000) {
          lastReport = Date.now()
          log.error(`The ${name} database still cannot be reopened: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`)
        }
        schedule()
      }
    }, retryMs)
    timer.unref()
  }

  const wrap = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, timed = false) => async (...a: A): Promise<R> => {
    if (broken !== undefined) return refuse() as Promise<R>
    const t0 = timed ? performance.now() : 0
    try {
      const r = await fn(...a)
      if (timed) o.onBatch?.((performance.now() - t0) / 1000)
      return r
    } catch (err) {
      failed(err)
      throw err
    }
  }

  const batch = db.batch.bind(db) as (...a: unknown[]) => unknown
  db.put = wrap(db.put.bind(db))
  db.del = wrap(db.del.bind(db))
  db.clear = wrap(db.clear.bind(db))
  const timedBatch = wrap((...a: unknown[]) => batch(...a) as Promise<void>, true)
  // Without arguments batch() is the chained form (a builder), which the hub does not use.
  db.batch = (...a: unknown[]) => (a.length === 0 ? batch() : timedBatch(...a))

  return {
    trouble: () => (broken === undefined ? undefined : `the ${name} database refuses writes: ${broken}`),
    stop: () => { stopped = true; clearTimeout(timer) },
  }
}
