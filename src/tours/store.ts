import { mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../log.js'

/** A time-limited public view of one device's track (booklet features/tours.md). */
export interface Tour {
  uuid: string
  user: string
  device: string
  label: string
  /** As requested; the apps send UTC without a zone, e.g. 2022-08-01T05:35:58. */
  from: string
  to: string
  /** The window in epoch seconds, both ends included. */
  fromTst: number
  toTst: number
  /** Epoch seconds of creation. */
  created: number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Tours on disk, one JSON file per tour as the Recorder keeps them: `<data>/tours/<uuid>.json` (mode 0600).
 * The uuid is the tour's only secret (whoever has the link sees the track), so it comes from a CSPRNG.
 * All tours are also held in memory: there are few, and every public page view looks one up.
 */
export class TourStore {
  private readonly tours = new Map<string, Tour>()

  constructor(private readonly dir: string, private readonly log?: Logger) {}

  load(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    for (const name of readdirSync(this.dir)) {
      const uuid = name.replace(/\.json$/, '')
      if (!name.endsWith('.json') || !UUID.test(uuid)) continue
      try {
        const t = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Tour
        if (t.uuid !== uuid || typeof t.user !== 'string' || typeof t.fromTst !== 'number' || typeof t.toTst !== 'number') throw new Error('not a tour')
        this.tours.set(uuid, t)
      } catch (err) {
        this.log?.warn(`Tour file ${join(this.dir, name)} is unreadable (${(err as Error).message}); that tour is not served. Delete the file or fix it.`)
      }
    }
  }

  /** Reads the directory again, forgetting tours whose files are gone (another node of a cluster changed it). */
  reload(): void {
    this.tours.clear()
    this.load()
  }

  get(uuid: string): Tour | undefined { return this.tours.get(uuid) }

  /** A user's tours (of one device when given), by start time. */
  list(user: string, device?: string): Tour[] {
    return [...this.tours.values()]
      .filter((t) => t.user === user && (device === undefined || t.device === device))
      .sort((a, b) => a.fromTst - b.fromTst || a.created - b.created)
  }

  count(user: string): number { return this.list(user).length }

  async add(t: Tour): Promise<void> {
    const file = join(this.dir, `${t.uuid}.json`)
    await writeFile(file + '.tmp', JSON.stringify(t, null, 2) + '\n', { mode: 0o600 })
    await rename(file + '.tmp', file)
    this.tours.set(t.uuid, t)
  }

  async delete(uuid: string): Promise<boolean> {
    if (!this.tours.has(uuid)) return false
    this.tours.delete(uuid)
    await rm(join(this.dir, `${uuid}.json`), { force: true })
    return true
  }
}
