import type { DeviceView } from '../access/access.js'
import type { Day, Trip, Visit } from './types.js'

/*
 * A day as one viewer may see it. Visits and the points of trips are locations, so each goes through
 * the viewer's view like any stored fix: a blurred share gets them on its grid, with the place names
 * its precision allows (access/place-names.ts), and the day's towns and countries come from those.
 */
export function viewDay(d: Day, view: DeviceView): Day {
  if (view.precision === null) return d
  const visits = d.visits.map((v): Visit => {
    const { _type: _t, ...seen } = view.transform({ _type: 'location', ...v })
    return seen as unknown as Visit
  })
  const trips = d.trips.map((t): Trip => ({
    ...t,
    path: t.path.map(([lat, lon]) => {
      const p = view.transform({ _type: 'location', lat, lon })
      return [p.lat as number, p.lon as number] as [number, number]
    }).filter((p, i, all) => i === 0 || p[0] !== all[i - 1][0] || p[1] !== all[i - 1][1]),
  }))
  const countries = [...new Set(visits.map((v) => v.cc).filter((c): c is string => !!c))].sort()
  const towns = [...new Set(visits.map((v) => v.locality).filter((t): t is string => !!t))]
  return { summary: { ...d.summary, countries, towns }, visits, trips }
}
