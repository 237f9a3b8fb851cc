import type { Logger } from './log.js'
import { openEncrypted } from './owntracks/crypto.js'
import { decodePayload } from './owntracks/decode.js'
import { parseDeviceTopic } from './owntracks/topics.js'
import type { Stats } from './stats.js'
import { KEPT } from './store/kept.js'
import type { HistoryStore } from './store/types.js'

/**
 * The `from` of the hub's own publishes (place transitions): the only source whose `hub` marker is kept.
 * It starts with NUL, which MQTT forbids in client ids, so no client can take this name.
 */
export const HUB_ORIGIN = '\u0000hub'

export type IngestOutcome =
  | { kind: 'stored'; type: string }
  | { kind: 'ignored' } // not an OwnTracks device topic, or a type we do not keep
  | { kind: 'invalid'; reason: string }
  | { kind: 'refused'; reason: string } // over a quota: neither stored nor delivered

/**
 * decode → store, for MQTT publishes and HTTP-mode posts alike. Resolves once the history write
 * has committed; a rejection means nothing was stored and the publisher must not be acknowledged.
 * An invalid payload is logged and counted here, and the caller still delivers it unchanged.
 */
export class Ingest {
  constructor(
    private readonly history: HistoryStore,
    private readonly base: string,
    private readonly stats: Stats,
    private readonly log: Logger,
    /** The user's payload encryption secret (`owntracks-hub user key`), if one is set. */
    private readonly secretOf: (user: string) => string | undefined = () => undefined,
    /** Devices one user may have in the history (0 = no limit). */
    private readonly maxDevicesPerUser = 0,
  ) {}

  private lastQuotaLog = new Map<string, number>()
  /** Told of every record once it is committed (the places' tracker); must not throw or wait. */
  onStored?: (user: string, device: string, message: Record<string, unknown>) => void

  private readonly warnedNoKey = new Set<string>()
  /** Told of every stored location, after the write committed (the geocoder queue); must not block. */
  afterStore?: (user: string, device: string, message: Record<string, unknown>) => void

  async handle(topic: string, payload: Buffer, from: string): Promise<IngestOutcome> {
    const dt = parseDeviceTopic(topic, this.base)
    // An empty publish clears a retained message: not a payload to judge.
    if (!dt || payload.length === 0) return { kind: 'ignored' }
    const max = this.maxDevicesPerUser
    if (max > 0 && !this.history.device(dt.user, dt.device) && this.history.deviceCount(dt.user) >= max) {
      this.stats.devicesRefused++
      const reason = `${dt.user} has ${max} devices, the max-devices-per-user limit`
      // One line a minute per user: a script inventing device names must not flood the log.
      if (Date.now() - (this.lastQuotaLog.get(dt.user) ?? 0) > 60_000) {
        this.lastQuotaLog.set(dt.user, Date.now())
        this.log.warn(`Refused '${topic}' from ${from}: ${reason}; delete old ones (kill) or raise --max-devices-per-user (acknowledged, not stored or delivered)`)
      }
      return { kind: 'refused', reason }
    }
    const res = decodePayload(payload)
    if (!res.ok) {
      this.stats.decodeFailures++
      this.log.warn(`Invalid OwnTracks payload from ${from} on '${topic}': ${res.reason} (delivered, not stored)`)
      return { kind: 'invalid', reason: res.reason }
    }
    let message = res.message
    if (message._type === 'encrypted') {
      // Subscribers still get the ciphertext as published: only what history keeps is decrypted.
      const secret = this.secretOf(dt.user)
      if (secret !== undefined) {
        const opened = openEncrypted(String(message.data), secret)
        if (!opened.ok) {
          this.stats.decryptFailures++
          this.log.warn(`Cannot decrypt the payload from ${from} on '${topic}': ${opened.reason}. The secret set with 'npx owntracks-hub user key ${dt.user}' must equal the app's encryption key (delivered, not stored)`)
          return { kind: 'invalid', reason: opened.reason }
        }
        this.stats.decrypted++
        message = opened.message
      } else if (!this.warnedNoKey.has(dt.user)) {
        this.warnedNoKey.add(dt.user)
        this.log.info(`${dt.user} publishes encrypted payloads; they are stored encrypted until you set the same secret with 'npx owntracks-hub user key ${dt.user}'`)
      }
    }
    const type = message._type
    if (!KEPT.has(type)) return { kind: 'ignored' }
    // `hub: true` marks the hub's own place transitions; a phone cannot claim it.
    if ('hub' in message && from !== HUB_ORIGIN) {
      const { hub: _h, ...rest } = message as Record<string, unknown>
      message = rest as typeof message
    }
    try {
      await this.history.write([{ user: dt.user, device: dt.device, message, topic }])
    } catch (err) {
      this.stats.storeFailures++
      this.log.error(`History write failed for '${topic}' from ${from}: ${(err as Error).message}; not acknowledged`)
      throw err
    }
    this.stats.stored++
    if (type === 'location') this.afterStore?.(dt.user, dt.device, message)
    this.onStored?.(dt.user, dt.device, message as Record<string, unknown>)
    return { kind: 'stored', type }
  }
}
