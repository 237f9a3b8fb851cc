import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { AccessControl } from '../access/access.js'
import { writeAtomic } from '../access/rules-edit.js'
import type { Logger } from '../log.js'
import { pollFiles } from '../watch.js'
import { parsePlaces } from './places-file.js'
import { PresenceTracker } from './presence.js'
import type { Place, PlacesRules } from './types.js'

const shown = (path: string) => { const r = relative(process.cwd(), path); return r.startsWith('..') || r === '' ? path : r }

/**
 * acl/places.yml in force: loaded beside the sharing rules (whose people and groups it may name),
 * reloaded when it changes, saved atomically by the API; a file with a mistake is refused with its
 * line and the places in force stay. Owns the tracker of who is where.
 */
export class Places {
  readonly file: string
  private rules: PlacesRules
  private error: string | undefined
  private stop?: () => void
  readonly tracker: PresenceTracker
  private readonly listeners: (() => void)[] = []

  constructor(aclDir: string, private readonly access: AccessControl, private readonly users: () => string[], private readonly log?: Logger, private readonly defaultTimezone = Intl.DateTimeFormat().resolvedOptions().timeZone) {
    this.file = join(aclDir, 'places.yml')
    this.rules = { file: shown(this.file), timezone: defaultTimezone, margin: 25, dwell: 0, places: [], alerts: [] }
    this.tracker = new PresenceTracker(this.rules)
  }

  get current(): PlacesRules { return this.rules }
  get lastError(): string | undefined { return this.error }

  /** Parses a would-be places file as load() would; throws RulesError naming the line. */
  check(text: string): PlacesRules {
    const r = this.access.table.rules
    const groups = new Map([...(r?.groups ?? [])].map(([n, g]) => [n, g.members]))
    return parsePlaces(text, shown(this.file), { people: [...this.users(), ...(r?.people ?? [])], groups, defaultTimezone: this.defaultTimezone })
  }

  load(): boolean {
    try {
      this.rules = existsSync(this.file) ? this.check(readFileSync(this.file, 'utf8')) : { ...this.rules, places: [], alerts: [] }
    } catch (err) {
      this.error = (err as Error).message
      this.log?.error(`${this.error}; the previous places stay in force`)
      return false
    }
    this.error = undefined
    this.tracker.setRules(this.rules)
    for (const f of this.listeners) f()
    return true
  }

  save(text: string): boolean {
    writeAtomic(this.file, text)
    return this.load()
  }

  onChange(f: () => void): void { this.listeners.push(f) }

  watch(): void {
    this.stop = pollFiles(() => [this.file], () => { if (this.load()) this.log?.info(`Reloaded places from ${shown(this.file)}`) })
  }

  close(): void { this.stop?.() }

  placesOf(user: string): Place[] { return this.tracker.placesOf(user) }
}
