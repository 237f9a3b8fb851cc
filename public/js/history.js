// History: one device's track over a range, drawn on a canvas (tens of thousands of points stay smooth:
// Leaflet simplifies the line per zoom level, and at most MAX_DOTS point dots are drawn), with start and
// end markers, a time slider with playback, distance and duration, and GPX / GeoJSON downloads.
import { latest, query, STALE } from './api.js'
import { absTime, colorFor, distanceText, durationText, el, haversine, localInputValue, sheetHeight } from './format.js'

const MAX_DOTS = 2000
/** Playback runs through any range in about this many seconds. */
const PLAYBACK_S = 30

const $ = (id) => document.getElementById(id)

export class History {
  constructor(map, live) {
    this.map = map
    this.live = live
    this.renderer = L.canvas({ padding: 0.5 })
    this.layer = null
    this.points = []
    /** Tracks are asked for as they are chosen: only the answer to the newest is drawn. */
    this.askTrack = latest()
    this.form = $('history-form')
    this.device = $('history-device')
    this.range = $('history-range')
    this.summary = $('history-summary')
    this.player = $('history-player')
    this.slider = $('history-slider')
    this.playButton = $('history-play')
    this.at = $('history-at')
    const now = new Date()
    $('history-from').value = localInputValue(new Date(now.getFullYear(), now.getMonth(), now.getDate()))
    $('history-to').value = localInputValue(now)
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.show() })
    this.range.addEventListener('change', () => { $('history-custom').hidden = this.range.value !== 'custom' })
    $('history-clear').addEventListener('click', () => this.clear())
    this.slider.addEventListener('input', () => { this.pause(); this.seek(Number(this.slider.value)) })
    this.playButton.addEventListener('click', () => (this.playing ? this.pause() : this.play()))
  }

  /** Keeps the device list in step with the live view (devices come and go with shares). */
  refreshDevices() {
    const keys = [...new Set([...this.live.devices.keys(), ...(this.live.presenceOnly ?? [])])].sort()
    if (keys.join('\n') === [...this.device.options].map((o) => o.value).join('\n')) return
    const keep = this.device.value
    this.device.replaceChildren(...keys.map((k) => el('option', { value: k, selected: k === keep }, k.replace('/', ' / '))))
  }

  /** [from, to] as Dates in local time, or a reason why not. */
  window() {
    const now = new Date()
    const day = (offset) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset)
    switch (this.range.value) {
      case 'today': return [day(0), now]
      case 'yesterday': return [day(-1), new Date(day(0).getTime() - 1000)]
      case 'week': return [day(-6), now]
      default: {
        const from = new Date($('history-from').value)
        const to = new Date($('history-to').value)
        if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return 'Give both a start and an end.'
        if (from > to) return 'The start is after the end.'
        return [from, to]
      }
    }
  }

  async show() {
    const key = this.device.value
    if (!key) { this.summary.textContent = 'No device to show yet.'; return }
    const w = this.window()
    if (typeof w === 'string') { this.summary.textContent = w; return }
    const i = key.indexOf('/')
    const params = { user: key.slice(0, i), device: key.slice(i + 1), from: Math.floor(w[0] / 1000), to: Math.floor(w[1] / 1000) }
    this.summary.textContent = 'Loading…'
    let res
    try {
      res = await this.askTrack(`/api/0/locations?${query({ ...params, format: 'json', fields: 'lat,lon,tst,vel,presence' })}`)
    } catch (err) {
      this.summary.textContent = `Could not load the track: ${err.message}`
      return
    }
    // Another track was asked for while this one was on its way: the newest request's answer is drawn.
    if (res === STALE) return
    const visits = res.data.filter((p) => p.presence)
    // Shared as "only which place": the place visits, no track (the events list below names them).
    if (visits.length) this.drawVisits(visits)
    else this.draw(res.data.filter((p) => typeof p.lat === 'number' && typeof p.lon === 'number'), params.user)
    document.dispatchEvent(new CustomEvent('history:shown', { detail: params })) // places: the range's events
    const file = `${params.user}-${params.device}-${new Date(w[0]).toISOString().slice(0, 10)}`
    Object.assign($('history-gpx'), { href: `/api/0/locations?${query({ ...params, format: 'gpx' })}`, download: `${file}.gpx` })
    Object.assign($('history-geojson'), { href: `/api/0/locations?${query({ ...params, format: 'geojson' })}`, download: `${file}.geojson` })
  }

  draw(points, user) {
    this.clear()
    this.points = points
    this.summary.dataset.points = String(points.length)
    if (points.length === 0) {
      this.summary.textContent = 'No positions in this range.'
      return
    }
    const color = colorFor(user)
    const lls = points.map((p) => [p.lat, p.lon])
    const layer = this.layer = L.layerGroup()
    const line = this.line = L.polyline(lls, { renderer: this.renderer, color, weight: 4, opacity: 0.85, smoothFactor: 1.5, interactive: false }).addTo(layer)
    const step = Math.max(1, Math.ceil(points.length / MAX_DOTS))
    for (let i = 0; i < lls.length; i += step) {
      L.circleMarker(lls[i], { renderer: this.renderer, radius: 3, color: '#fff', weight: 1, fillColor: color, fillOpacity: 1, interactive: false }).addTo(layer)
    }
    const first = points[0]
    const last = points[points.length - 1]
    const end = (cls, text, p) => L.marker([p.lat, p.lon], {
      icon: L.divIcon({ className: 'track-end', html: el('div', { class: cls }, text), iconSize: [26, 26], iconAnchor: [13, 13] }),
      title: `${cls === 'start' ? 'Start' : 'End'}: ${absTime(p.tst)}`, keyboard: true,
    }).addTo(layer)
    end('start', 'S', first)
    end('end', 'E', last)
    this.cursor = L.circleMarker(lls[0], { radius: 8, color: '#111827', weight: 3, fillColor: '#fbbf24', fillOpacity: 1, interactive: false }).addTo(layer)
    layer.addTo(this.map)
    this.map.fitBounds(line.getBounds(), { paddingTopLeft: [40, 40], paddingBottomRight: [40, 40 + sheetHeight()], maxZoom: 17 })

    let metres = 0
    for (let i = 1; i < points.length; i++) metres += haversine(points[i - 1].lat, points[i - 1].lon, points[i].lat, points[i].lon)
    this.summary.textContent = `${points.length} points · ${distanceText(metres)} · ${durationText(last.tst - first.tst)} (${absTime(first.tst)} to ${absTime(last.tst)})`
    this.slider.max = String(points.length - 1)
    this.slider.value = '0'
    this.player.hidden = false
    this.seek(0)
  }

  /** A presence-only history: where the device was, place by place, without a line between places. */
  drawVisits(visits) {
    this.clear()
    const text = (p) => `${p.presence.place ? `at ${p.presence.place}` : 'away'} since ${absTime(p.presence.since)}`
    this.summary.dataset.points = '0'
    this.summary.dataset.visits = String(visits.length)
    this.summary.textContent = `Only which place is shared: ${visits.length} change${visits.length === 1 ? '' : 's'}, the last ${text(visits[visits.length - 1])}.`
    // the places visited (their centres, the only coordinates such a history has) in view
    const at = visits.filter((p) => typeof p.lat === 'number' && typeof p.lon === 'number').map((p) => [p.lat, p.lon])
    if (at.length) this.map.fitBounds(L.latLngBounds(at), { paddingTopLeft: [40, 40], paddingBottomRight: [40, 40 + sheetHeight()], maxZoom: 16 })
  }

  /** The bounds of the track shown, or null. */
  bounds() {
    return this.line ? this.line.getBounds() : null
  }

  seek(i) {
    const p = this.points[i]
    if (!p) return
    this.cursor.setLatLng([p.lat, p.lon])
    this.at.textContent = `${absTime(p.tst)}${typeof p.vel === 'number' ? ` · ${Math.round(p.vel)} km/h` : ''}`
  }

  play() {
    if (!this.points.length) return
    if (Number(this.slider.value) >= this.points.length - 1) this.slider.value = '0'
    this.playing = true
    this.playButton.textContent = 'Pause'
    const perFrame = Math.max(1, this.points.length / (PLAYBACK_S * 60))
    let pos = Number(this.slider.value)
    const tick = () => {
      if (!this.playing) return
      pos = Math.min(this.points.length - 1, pos + perFrame)
      this.slider.value = String(Math.floor(pos))
      this.seek(Math.floor(pos))
      if (pos >= this.points.length - 1) this.pause()
      else this.frame = requestAnimationFrame(tick)
    }
    this.frame = requestAnimationFrame(tick)
  }

  pause() {
    this.playing = false
    cancelAnimationFrame(this.frame)
    this.playButton.textContent = 'Play'
  }

  clear() {
    this.pause()
    this.layer?.remove()
    this.layer = null
    this.line = null
    this.points = []
    this.player.hidden = true
    this.summary.textContent = ''
    this.summary.dataset.points = ''
    this.summary.dataset.visits = ''
    document.dispatchEvent(new CustomEvent('history:cleared')) // places
  }
}
