import type { OwnTracksMessage } from '../owntracks/types.js'

/** One message worth keeping, as it leaves the decoder. */
export interface HistoryRecord {
  user: string
  device: string
  message: OwnTracksMessage
  /** The MQTT topic it arrived on (HTTP mode: the topic it would have had). */
  topic: string
  /**
   * When it was received (epoch s). Keys messages without a `tst` of their own (cards, some status
   * messages); an import passes the original receive time so a re-run lands on the same keys.
   */
  at?: number
}

/** What an idempotent write found: records it added, and records that were already stored. */
export interface WriteCounts { added: number; present: number }

/** What a retention pass removed. */
export interface PruneCounts { locations: number; records: number }

export interface DeviceSummary {
  user: string
  device: string
  /** The newest location (highest tst) as stored, or undefined before the first fix. */
  last?: Record<string, unknown>
  lastTopic?: string
  card?: Record<string, unknown>
  /** Months ('YYYY-MM') that hold locations. */
  months: string[]
}

export interface RangeQuery {
  /** Inclusive, epoch seconds. */
  from: number
  /** Inclusive, epoch seconds. */
  to: number
  /** The newest N inside [from, to], still returned ascending. */
  limit?: number
}

/**
 * The location history. LevelDB is the embedded default; the interface is small so a clustered
 * deployment can put it on another engine.
 */
export interface HistoryStore {
  /** Resolves once the records are committed: callers acknowledge only after this. */
  write(records: HistoryRecord[]): Promise<void>
  /** Locations of one device ascending by tst. Streams: never holds the range in memory. */
  locations(user: string, device: string, q: RangeQuery): AsyncIterable<Record<string, unknown>>
  /**
   * The same locations as the JSON text each was stored as (exactly JSON.stringify of the message), in
   * batches. Optional: a store that keeps the message in another form (PostgreSQL's jsonb reorders keys)
   * has none, and readers take locations().
   */
  locationTexts?(user: string, device: string, q: RangeQuery): AsyncIterable<string[]>
  /** Non-location records of one kind (transition, waypoints, lwt, status, steps, …) ascending by tst. */
  records(user: string, device: string, type: string, q: RangeQuery): AsyncIterable<Record<string, unknown>>
  devices(): DeviceSummary[]
  device(user: string, device: string): DeviceSummary | undefined
  /** How many devices `user` has (the quota max-devices-per-user counts these). */
  deviceCount(user: string): number
  /** Like write, but reports which records were new: imports use it to print honest summaries. */
  writeNew(records: HistoryRecord[]): Promise<WriteCounts>
  /** Deletes history older than `before` (epoch s); the newest location of each device stays. */
  prune(before: number): Promise<PruneCounts>
  /** Deletes everything of one device; returns how many locations went. */
  deleteDevice(user: string, device: string): Promise<number>
  close(): Promise<void>
}
