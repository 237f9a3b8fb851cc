// The timeline: one day of one device as visits (with their place names) and trips (coloured by how they
// were travelled), beside the same day on the map. Previous/next buttons and the arrow keys change the day;
// choosing an entry shows it on the map, and choosing a visit or trip on the map selects it in the list.
import { api, latest, query, STALE } from './api.js'
import { distanceText, durationText, el, sheetHeight } from './format.js'

const $ = (id) => document.getElementById(id)

/** One colour and label per way of travelling; the colours stay apart for colour-blind eyes too. */
export const MODES = {
  walk: { label: 'Walk', color: '#15803d' },
  bike: { label: 'Bike', color: '#c2410c' },
  car: { label: 'Car', color: '#1d4ed8' },
  train: { label: 'Train', color: '#7e22ce' },
  plane: { label: 'Plane', color: '#be123c' },
}

/** HH:MM in the day's own zone (the owner's), whatever the zone of this browser. */
function clock(tst, tz) {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(tst * 1000))
  } catch {
    return new Date(tst * 1000).toTimeString().slice(0, 5)
  }
}

const placeName = (v) => v.addr ?? v.locality ?? (v.cc ? `somewhere in ${v.cc}` : `${v.lat.toFixed(4)}, ${v.lon.toFixed(4)}`)

/** YYYY-MM-DD of a local Date. */
const isoDate = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
const dayTitle = (date) => new Date(`${date}T12:00:00`).toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' })

export class Timeline {
  constructor(map, live, { isOpen }) {
    this.map = map
    this.live = live
    this.isOpen = isOpen
    this.layer = null
    this.date = isoDate(new Date())
    this.device = $('timeline-device')
    this.list = $('timeline-list')
    this.summary = $('timeline-summary')
    this.items = []
    /** Days are asked for as they are chosen: only the answer to the newest is drawn. */
    this.askDay = latest()
    $('timeline-prev').addEventListener('click', () => this.step(-1))
    $('timeline-next').addEventListener('click', () => this.step(1))
    $('timeline-date').addEventListener('change', (e) => { if (e.target.value) { this.date = e.target.value; this.load() } })
    this.device.addEventListener('change', () => this.load())
    document.addEventListener('keydown', (e) => {
      if (!this.isOpen() || e.altKey || e.ctrlKey || e.metaKey) return
      if (e.target instanceof HTMLElement && e.target.closest('input, select, textarea')) return
      if (e.key === 'ArrowLeft') { e.preventDefault(); this.step(-1) }
      if (e.key === 'ArrowRight') { e.preventDefault(); this.step(1) }
    })
  }

  refreshDevices() {
    const keys = [...this.live.devices.keys()].sort()
    if (keys.join('\n') === [...this.device.options].map((o) => o.value).join('\n')) return
    const keep = this.device.value
    this.device.replaceChildren(...keys.map((k) => el('option', { value: k, selected: k === keep }, k.replace('/', ' / '))))
  }

  step(by) {
    const d = new Date(`${this.date}T12:00:00`)
    d.setDate(d.getDate() + by)
    this.date = isoDate(d)
    this.load()
  }

  /** Opens the timeline of `key` on `date` (YYYY-MM-DD, default the one shown). */
  async load() {
    const key = this.device.value
    $('timeline-date').value = this.date
    $('timeline-title').textContent = dayTitle(this.date)
    if (!key) { this.summary.textContent = 'No device to show yet.'; return }
    const i = key.indexOf('/')
    this.summary.textContent = 'Loading…'
    this.summary.dataset.date = ''
    let day
    try {
      day = await this.askDay(`/api/0/day?${query({ user: key.slice(0, i), device: key.slice(i + 1), date: this.date })}`)
    } catch (err) {
      this.clearMap()
      this.list.replaceChildren()
      this.summary.textContent = err.status === 403 ? 'You may not see this device\'s history (live position only).' : `Could not load the day: ${err.message}`
      return
    }
    // Another day or device was chosen while this answer was on its way (answers can overtake each
    // other): the newest choice's answer draws the timeline, not whichever arrives last.
    if (day === STALE) return
    this.render(day)
    this.loadStats(key.slice(0, i), key.slice(i + 1))
  }

  /** The year before the shown day: totals, countries and towns with first dates, a heat map of active days. */
  async loadStats(user, device) {
    const to = this.date
    const key = `${user}/${device}/${to}`
    if (this.statsKey === key) return
    this.statsKey = key
    let s
    try {
      s = await api(`/api/0/stats?${query({ user, device, to })}`)
    } catch {
      if (this.statsKey !== key) return
      $('stats-summary').textContent = ''
      $('stats-heat').replaceChildren()
      return
    }
    // A later day was chosen while this answer was on its way: its own answer draws the statistics.
    if (this.statsKey !== key) return
    $('stats-summary').dataset.to = to
    const km = (m) => distanceText(m)
    const home = s.home ? ` · ${Math.round((100 * s.home.seconds) / Math.max(1, s.home.seconds + s.away))} % of the time at home${s.home.locality ? ` (${s.home.locality})` : ''}` : ''
    $('stats-summary').textContent = `${km(s.distance.total)} on ${s.active.length} days · ${s.countries.length} ${s.countries.length === 1 ? 'country' : 'countries'} · ${s.towns.length} ${s.towns.length === 1 ? 'town' : 'towns'}${home}`
    $('stats-places').textContent = s.countries.length ? `First seen: ${[...s.countries.map((c) => `${c.cc} ${c.first}`), ...s.towns.slice(0, 8).map((t) => `${t.name} ${t.first}`)].join(' · ')}` : ''
    const byDate = new Map(s.active.map((a) => [a.date, a]))
    const max = Math.max(1, ...s.active.map((a) => a.distance))
    // 53 columns of weeks, Monday on top; the last column ends with the shown day.
    const end = new Date(`${to}T12:00:00`)
    const start = new Date(end)
    start.setDate(start.getDate() - 52 * 7 - ((end.getDay() + 6) % 7))
    const cells = []
    for (let d = new Date(start); d <= end; d.setDate(d.getDate() + 1)) {
      const date = isoDate(d)
      const a = byDate.get(date)
      const level = a ? 1 + Math.min(3, Math.floor((4 * a.distance) / (max + 1))) : 0
      cells.push(el('button', { type: 'button', class: `heat-${level}`, 'data-date': date, title: `${date}: ${a ? km(a.distance) : 'nothing recorded'}`, 'aria-label': `${date}: ${a ? km(a.distance) : 'nothing recorded'}`, onclick: () => { this.date = date; this.load() } }))
    }
    $('stats-heat').replaceChildren(...cells)
  }

  render(day) {
    const s = day.summary
    this.summary.dataset.date = s.date
    this.summary.dataset.visits = String(day.visits.length)
    this.summary.dataset.trips = String(day.trips.length)
    this.summary.textContent = s.fixes === 0
      ? 'Nothing recorded on this day.'
      : [`${distanceText(s.distance)} travelled`, `${durationText(s.moving)} on the move`, `${s.visits} ${s.visits === 1 ? 'place' : 'places'}`,
          s.countries.length ? s.countries.join(', ') : null, `first ${clock(s.first, s.tz)}, last ${clock(s.last, s.tz)} (${s.tz})`].filter(Boolean).join(' · ')
    const entries = [...day.visits.map((v) => ({ kind: 'visit', at: v.from, v })), ...day.trips.map((t) => ({ kind: 'trip', at: t.from, t }))].sort((a, b) => a.at - b.at)
    this.clearMap()
    const layer = this.layer = L.featureGroup()
    this.items = entries.map((e, n) => {
      const select = () => this.select(n)
      if (e.kind === 'visit') {
        const v = e.v
        const marker = L.circleMarker([v.lat, v.lon], { radius: 9, color: '#fff', weight: 3, fillColor: '#111827', fillOpacity: 0.9 }).addTo(layer)
        marker.on('click', select)
        const li = el('li', { class: 'visit', 'data-kind': 'visit' },
          el('button', { type: 'button', onclick: select },
            el('span', { class: 'tl-icon', 'aria-hidden': 'true' }, '●'),
            el('span', { class: 'tl-main' }, el('strong', {}, placeName(v)), el('span', { class: 'meta' }, `${clock(v.from, s.tz)}–${clock(v.to, s.tz)} · ${durationText(v.to - v.from)}`))))
        return { li, layer: marker, bounds: L.latLngBounds([[v.lat, v.lon]]) }
      }
      const t = e.t
      const mode = MODES[t.mode] ?? MODES.car
      const line = L.polyline(t.path, { color: mode.color, weight: 6, opacity: 0.9 }).addTo(layer)
      line.on('click', select)
      const li = el('li', { class: 'trip', 'data-kind': 'trip', 'data-mode': t.mode },
        el('button', { type: 'button', onclick: select },
          el('span', { class: 'tl-icon mode-swatch', 'aria-hidden': 'true' }),
          el('span', { class: 'tl-main' }, el('strong', {}, `${mode.label} · ${distanceText(t.distance)}`), el('span', { class: 'meta' }, `${clock(t.from, s.tz)}–${clock(t.to, s.tz)} · ${durationText(t.to - t.from)} · ${Math.round(t.avgKmh)} km/h`))))
      li.style.setProperty('--mode', mode.color) // through the CSSOM: the page's CSP allows no style attributes
      return { li, layer: line, bounds: line.getBounds() }
    })
    this.list.replaceChildren(...this.items.map((x) => x.li))
    if (entries.length === 0) this.list.replaceChildren(el('li', { class: 'hint' }, 'No visits or trips on this day.'))
    layer.addTo(this.map)
    if (entries.length) this.fit(layer.getBounds())
  }

  /** The day (or one entry) in the part of the map the panel leaves free. */
  fit(bounds) {
    this.map.fitBounds(bounds.pad(0.05), { paddingTopLeft: [40, 40], paddingBottomRight: [40, 40 + sheetHeight()], maxZoom: 16 })
  }

  /** The bounds of what the timeline shows, for re-fitting when a panel opens or closes. */
  bounds() {
    return this.layer && this.layer.getLayers().length ? this.layer.getBounds() : null
  }

  select(n) {
    for (const [k, x] of this.items.entries()) {
      const on = k === n
      x.li.classList.toggle('selected', on)
      x.li.querySelector('button')?.setAttribute('aria-pressed', String(on))
      if (x.layer.setStyle) x.layer.setStyle(x.li.dataset.kind === 'trip' ? { weight: on ? 10 : 6, opacity: on || n === undefined ? 0.95 : 0.45 } : { radius: on ? 13 : 9 })
    }
    const x = this.items[n]
    if (!x) return
    x.li.scrollIntoView({ block: 'nearest' })
    this.fit(x.bounds)
  }

  clearMap() {
    this.layer?.remove()
    this.layer = null
    this.items = []
  }
}
