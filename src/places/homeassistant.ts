import type { AccessControl, Identity } from '../access/access.js'
import type { Logger } from '../log.js'
import type { Publish } from '../mqtt/publish.js'
import type { HistoryStore } from '../store/types.js'
import type { Places } from './places.js'

/** `homeassistant/device_tracker/<object id>/…`; an object id is letters, digits, '_' and '-'. */
export const objectId = (user: string, device: string) => `${user}_${device}`.replace(/[^A-Za-z0-9_-]/g, '_')
export const DISCOVERY_PREFIX = 'homeassistant/device_tracker/'

/**
 * Home Assistant's MQTT discovery, for the people one hub user (--homeassistant-user) may see: per
 * device a retained `config`, a retained `state` (the place's name as the zone, `home` for a place
 * named home, else `not_home`) and retained `attributes` (latitude, longitude, gps_accuracy as that
 * user's view shows them: blurred or the place's centre under a reduced share). Only that user (and
 * admins) may read these topics (access.ts); a device that stops being visible has its config
 * cleared, so Home Assistant removes the entity.
 */
export class HomeAssistant {
  private readonly who: Identity
  private published = new Set<string>()
  private dirty = new Set<string>()
  private scheduled = false

  constructor(private readonly d: { user: string; access: AccessControl; history: HistoryStore; places: Places; publish: Publish; log: Logger }) {
    this.who = { user: d.user, admin: false, clientId: 'owntracks-hub:homeassistant' }
  }

  /** Everything again: at start and when the sharing rules or places change. */
  refreshAll(): void {
    for (const x of this.d.history.devices()) this.changed(x.user, x.device)
    for (const id of this.published) this.dirty.add(id)
    this.schedule()
  }

  changed(user: string, device: string): void {
    this.dirty.add(`${user}\x00${device}`)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => { this.scheduled = false; void this.flush() })
  }

  private async flush(): Promise<void> {
    const keys = [...this.dirty]
    this.dirty.clear()
    for (const k of keys) {
      const [user, device] = k.split('\x00')
      try { await this.one(user, device) } catch (err) { this.d.log.error(`Home Assistant discovery for ${user}/${device}: ${(err as Error).message}`) }
    }
  }

  private async one(user: string, device: string): Promise<void> {
    const id = objectId(user, device)
    const base = DISCOVERY_PREFIX + id
    const pub = (sub: string, payload: string) => this.d.publish({ topic: `${base}/${sub}`, payload: Buffer.from(payload), qos: 1, retain: true }, 'homeassistant')
    const summary = this.d.history.device(user, device)
    const loc = summary?.last && this.d.access.present(this.who, summary.lastTopic ?? this.d.access.partTopic(user, device, 'location'), summary.last)
    const key = `${user}\x00${device}`
    if (!loc) {
      if (this.published.delete(key)) {
        await pub('config', '')
        await pub('state', '')
        await pub('attributes', '')
        this.d.log.info(`Home Assistant discovery: ${user}/${device} removed (${this.d.user} may no longer see it)`)
      }
      return
    }
    if (!this.published.has(key)) {
      this.published.add(key)
      await pub('config', JSON.stringify({
        name: null, unique_id: `owntracks_hub_${id}`, object_id: id,
        state_topic: `${base}/state`, json_attributes_topic: `${base}/attributes`,
        payload_home: 'home', payload_not_home: 'not_home', source_type: 'gps',
        device: { identifiers: [`owntracks_hub_${id}`], name: `${user} ${device}`, manufacturer: 'OwnTracks', model: 'owntracks-hub' },
      }))
    }
    const at = this.d.places.tracker.current(user, device)
    const attrs: Record<string, unknown> = { user, device }
    if (typeof loc.lat === 'number' && typeof loc.lon === 'number') Object.assign(attrs, { latitude: loc.lat, longitude: loc.lon, gps_accuracy: loc.acc })
    if (at) Object.assign(attrs, { place: at.place.name, since: new Date(at.since * 1000).toISOString() })
    await pub('attributes', JSON.stringify(attrs))
    await pub('state', at ? at.place.name : 'not_home')
  }
}
