import type { DeviceView } from '../store/viewer-history.js'
import type { Day, Trip, Visit } from './types.js'

/*
 * A day as one viewer may see it. Visits and the points of trips are locations of the device, so each
 * goes through the one decision (access.present, as every stored fix does): a blurred share gets them on
 * its grid, with the place names its precision allows (access/view-fields.ts), and the day's towns and
 * countries come from those. What the decision withholds is left out.
 */
export function viewDay(d: Day, view: Pick<DeviceView, 'present'>): Day {
  let changed = false
  const visits = d.visits.flatMap((v): Visit[] => {
    const probe = { _type: 'location', ...v }
    const seen = view.present(probe)
    if (seen !== probe) changed = true
    if (!seen) return []
    const { _type: _t, ...rest } = seen
    return [{ ...rest, from: v.from, to: v.to, fixes: v.fixes } as unknown as Visit]
  })
  const trips = d.trips.map((t): Trip => ({
    ...t,
    path: t.path.flatMap(([lat, lon]): [number, number][] => {
      const probe = { _type: 'location', lat, lon }
      const p = view.present(probe)
      if (p !== probe) changed = true
      return p && typeof p.lat === 'number' && typeof p.lon === 'number' ? [[p.lat, p.lon]] : []
    }).filter((p, i, all) => i === 0 || p[0] !== all[i - 1][0] || p[1] !== all[i - 1][1]),
  }))
  if (!changed) return d
  const countries = [...new Set(visits.map((v) => v.cc).filter((c): c is string => !!c))].sort()
  const towns = [...new Set(visits.map((v) => v.locality).filter((t): t is string => !!t))]
  return { summary: { ...d.summary, countries, towns }, visits, trips }
}
