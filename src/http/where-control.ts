import type { Hono } from 'hono'
import type { Days } from '../days/store.js'
import type { PlaceNames } from '../geo/place-names.js'
import type { HistoryStore } from '../store/types.js'
import type { Env } from './auth.js'
import { HttpError } from './errors.js'

/**
 * Owner-only endpoints on the control socket: POST /days/rebuild makes every day summary again from
 * the fixes; POST /geocode/backfill queues every place in the history the geocoder has not answered
 * yet (it is then asked at the configured pace, in the background).
 */
export function whereControl(app: Hono<Env>, d: { history: HistoryStore; days: Days; placeNames: PlaceNames }): void {
  app.post('/days/rebuild', async (c) => c.json({ days: await d.days.rebuild() }))
  app.post('/geocode/backfill', async (c) => {
    const g = d.placeNames.geocoder
    if (!g) throw new HttpError(409, 'no geocoder: start the hub with --geocoder nominatim:URL or photon:URL')
    let queued = 0, fixes = 0
    for (const dev of d.history.devices()) {
      for await (const loc of d.history.locations(dev.user, dev.device, { from: 0, to: 99_999_999_999 })) {
        fixes++
        if (typeof loc.lat === 'number' && typeof loc.lon === 'number' && g.notice(loc.lat, loc.lon)) queued++
      }
    }
    return c.json({ fixes, queued, cached: g.cached, pending: g.pending })
  })
}
