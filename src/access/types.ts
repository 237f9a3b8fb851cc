export type Access = 'read' | 'write' | 'readwrite' | 'deny'

/** One line of a Mosquitto acl_file, with where it came from (for `acl check` and error messages). */
export interface AclRule {
  access: Access
  /** Topic filter; for `pattern` lines it still holds `%u` / `%c`. */
  topic: string
  pattern: boolean
  source: { file: string; line: number }
}

/** A parsed acl_file: rules for anonymous clients, per user, and patterns for everyone. */
export interface AclFile {
  anonymous: AclRule[]
  users: Map<string, AclRule[]>
  patterns: AclRule[]
}

/** Where a sharing rule was written, for `acl check` and error messages. */
export interface Where { file: string; line: number }

/** What of a device a share shows: its location topic, its `/event` (transitions), its `/info` (card). */
export type Part = 'location' | 'events' | 'card'
export const PARTS: readonly Part[] = ['location', 'events', 'card']

/**
 * Reduced precision: a square grid of `metres`, geohash cells of `length` characters, or only which of
 * the sharer's places (acl/places.yml) the device is in (`place`, see presence-view.ts).
 */
export type Precision =
  | { kind: 'metres'; metres: number; text: string }
  | { kind: 'geohash'; length: number; text: string }
  | { kind: 'place'; text: 'place' }

export type GridPrecision = Exclude<Precision, { kind: 'place' }>

/** How far back a receiver may read: all of it, nothing (live only), or this many seconds. */
export type HistoryLimit = true | false | number

/** One person's devices shown to others (a `shares:` entry, or one member's side of a group). */
export interface Share {
  /** Explicit `id:` or one derived from the entry's content (see rules-file.ts). */
  id: string
  from: string
  /** People, groups already expanded. */
  to: string[]
  /** null: all of `from`'s devices. */
  devices: string[] | null
  include: Part[]
  precision: Precision | null
  history: HistoryLimit
  /** Epoch ms when the share ends by itself, or null. */
  until: number | null
  /** Set when the share comes from a group rather than a `shares:` entry. */
  group?: string
  where: Where
}

/** `from` may publish to `to`'s `…/cmd` (all devices, or the named ones). */
export interface CommandGrant {
  from: string[]
  to: string
  devices: string[] | null
  where: Where
}

/** A validated rules file (acl/sharing.yml). */
export interface SharingRules {
  file: string
  people: string[]
  admins: Map<string, Where>
  groups: Map<string, { members: string[]; where: Where }>
  shares: Share[]
  commands: CommandGrant[]
}
