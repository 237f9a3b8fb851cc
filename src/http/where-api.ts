import { Hono, type Context } from 'hono'
import type { AccessControl } from '../access/access.js'
import { isDate, nextDate } from '../days/local-time.js'
import { statistics } from '../days/stats.js'
import type { Days } from '../days/store.js'
import type { Day } from '../days/types.js'
import { viewDay } from '../days/viewed.js'
import type { HistoryStore } from '../store/types.js'
import { deviceView, type DeviceView } from '../store/viewer-history.js'
import type { Env } from './auth.js'
import { nameParam, ParamError, requestParam } from './params.js'

export interface WhereApiDeps { history: HistoryStore; access: AccessControl; days: Days }

const MAX_DAYS = 3_700

/**
 * Days, visits, trips and statistics (README.md, "Where and when"), beside the Recorder's /api/0.
 * Every answer is cut by the viewer's view of the device: no share, no answer; a history window cuts
 * the days; a blurred share gets visits and trips on its grid.
 */
export function whereApi(d: WhereApiDeps): Hono<Env> {
  const api = new Hono<Env>()

  const target = async (c: Context<Env>, deviceRequired = true) => {
    const user = await nameParam(c, 'user')
    const device = await nameParam(c, 'device')
    if (!user) throw new ParamError("parameter 'user' is required")
    if (deviceRequired && !device) throw new ParamError("parameter 'device' is required")
    const devices = d.history.devices().filter((x) => x.user === user && (device === undefined || x.device === device))
      .flatMap((x) => { const view = deviceView(d.access, c.get('who'), x.user, x.device); return view ? [{ device: x.device, view }] : [] })
    return { user, device, devices }
  }
  const date = async (c: Context, name: string, fallback: string) => {
    const v = (await requestParam(c, name)) ?? fallback
    if (!isDate(v)) throw new ParamError(`parameter '${name}': '${v}' is not a date; use YYYY-MM-DD`)
    return v
  }
  const refuse = (c: Context, who: string) => c.json({ error: `you may not read the history of ${who}`, status: 403 }, 403)
  const historyOf = (view: DeviceView) => Number.isFinite(view.historyFrom)

  const daysOf = async (user: string, device: string, view: DeviceView, from: string, to: string): Promise<Day[]> => {
    if (from > to) throw new ParamError(`parameters 'from'/'to': ${from} is after ${to}`)
    if (Date.parse(to) - Date.parse(from) > MAX_DAYS * 86_400_000) throw new ParamError(`parameters 'from'/'to': at most ${MAX_DAYS} days at once`)
    return (await d.days.range(user, device, from, to, view.historyFrom)).map((x) => viewDay(x, view))
  }

  api.on(['GET', 'POST'], '/day', async (c) => {
    const t = await target(c)
    const dev = t.devices[0]
    if (!dev || !historyOf(dev.view)) return refuse(c, `${t.user}/${t.device}`)
    const day = await date(c, 'date', d.days.today(t.user, dev.device))
    const [x] = await daysOf(t.user, dev.device, dev.view, day, day)
    return c.json({ user: t.user, device: dev.device, ...(x ?? emptyDay(day, d.days.zone(t.user, dev.device))), previous: nextDate(day, -1), next: nextDate(day, 1) })
  })

  for (const what of ['days', 'visits', 'trips'] as const) {
    api.on(['GET', 'POST'], '/' + what, async (c) => {
      const t = await target(c)
      const dev = t.devices[0]
      if (!dev || !historyOf(dev.view)) return refuse(c, `${t.user}/${t.device}`)
      const to = await date(c, 'to', d.days.today(t.user, dev.device))
      const from = await date(c, 'from', nextDate(to, -29))
      const days = await daysOf(t.user, dev.device, dev.view, from, to)
      const tz = d.days.zone(t.user, dev.device)
      if (what === 'days') return c.json({ user: t.user, device: dev.device, tz, days: days.map((x) => x.summary) })
      if (what === 'visits') return c.json({ user: t.user, device: dev.device, tz, visits: days.flatMap((x) => x.visits.map((v) => ({ date: x.summary.date, ...v }))) })
      return c.json({ user: t.user, device: dev.device, tz, trips: days.flatMap((x) => x.trips.map((v) => ({ date: x.summary.date, ...v }))) })
    })
  }

  // Per device, or per person (no `device`): then each date counts the device with the most fixes that day.
  api.on(['GET', 'POST'], '/stats', async (c) => {
    const t = await target(c, false)
    const devs = t.devices.filter((x) => historyOf(x.view))
    if (devs.length === 0) return refuse(c, t.device ? `${t.user}/${t.device}` : t.user)
    const to = await date(c, 'to', d.days.today(t.user, devs[0].device))
    const from = await date(c, 'from', nextDate(to, -364))
    const byDate = new Map<string, Day>()
    for (const dev of devs) {
      for (const x of await daysOf(t.user, dev.device, dev.view, from, to)) {
        const have = byDate.get(x.summary.date)
        if (!have || x.summary.fixes > have.summary.fixes) byDate.set(x.summary.date, x)
      }
    }
    const days = [...byDate.values()].sort((a, b) => a.summary.date.localeCompare(b.summary.date))
    return c.json({ user: t.user, device: t.device, devices: devs.map((x) => x.device), ...statistics(days) })
  })

  return api
}

const emptyDay = (date: string, tz: string): Day => ({ summary: { date, tz, distance: 0, moving: 0, visits: 0, countries: [], towns: [], fixes: 0 }, visits: [], trips: [] })
