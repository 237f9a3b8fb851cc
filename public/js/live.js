// The live view: one marker per visible device, kept current from /ws/last (the Recorder's live feed)
// or, where the hub does not serve it, by polling /api/0/last.
import { api } from './api.js'
import { absTime, battery, colorFor, connection, displayName, el, initials, sheetHeight, timeAgo } from './format.js'

/** A device not heard from for an hour is drawn greyed out. */
export const STALE_AFTER_S = 3600
const POLL_MS = 3000
const SOCKET_RETRY_MS = 30_000
/**
 * The live feed carries positions, not the rules: a share that starts, ends or is revoked sends no
 * message. So the full list is read again now and then, even while the socket is open.
 */
const RECHECK_MS = 10_000

export const isStale = (loc, now = Date.now() / 1000) => now - loc.tst > STALE_AFTER_S

export class LiveMap {
  /** `live`: the hub serves /ws/last. `onChange`: called after markers changed (the people list redraws). */
  constructor(map, { live, onChange, onFollow }) {
    this.map = map
    this.useSocket = live
    this.onChange = onChange
    this.onFollow = onFollow
    /** "user/device" → { loc, marker, circle, look } */
    this.devices = new Map()
    this.followKey = null
    this.stopped = false
    map.on('dragstart', () => this.follow(null))
  }

  start() {
    this.refresh()
    if (this.useSocket) this.openSocket()
    else this.startPolling()
    this.clock = setInterval(() => this.restyle(), 30_000)
    if (this.useSocket) this.recheck = setInterval(() => { if (this.socket?.readyState === WebSocket.OPEN) this.refresh() }, RECHECK_MS)
  }

  stop() {
    this.stopped = true
    this.stopPolling()
    clearInterval(this.clock)
    clearInterval(this.recheck)
    this.socket?.close()
  }

  async refresh() {
    let list
    try {
      list = await api('/api/0/last')
    } catch {
      return // api() shows the banner; the next poll tries again
    }
    const seen = new Set()
    // places: devices shared as "only which place" have a history (their place visits) but no marker
    this.presenceOnly = new Set(list.filter((loc) => loc.presence).map((loc) => `${loc.username}/${loc.device}`))
    for (const loc of list) {
      // places: a presence-only share is a chip (places.js), never a marker
      if (loc.presence || typeof loc.lat !== 'number' || typeof loc.lon !== 'number') continue
      seen.add(this.upsert(loc))
    }
    // Gone from the answer (a share ended, a device deleted): gone from the map.
    for (const key of [...this.devices.keys()]) if (!seen.has(key)) this.remove(key)
    // The first full answer, not a live message that may arrive before it, decides the first view.
    this.loaded = true
    this.onChange()
  }

  startPolling() {
    if (this.poller || this.stopped) return
    this.poller = setInterval(() => this.refresh(), POLL_MS)
  }

  stopPolling() {
    clearInterval(this.poller)
    this.poller = undefined
  }

  openSocket() {
    if (this.stopped) return
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/last`)
    this.socket = ws
    ws.addEventListener('open', () => {
      ws.send('LAST')
      this.stopPolling()
    })
    ws.addEventListener('message', (e) => this.onSocketMessage(e.data))
    ws.addEventListener('close', () => {
      if (this.stopped) return
      this.socket = undefined
      this.startPolling()
      setTimeout(() => this.openSocket(), SOCKET_RETRY_MS)
    })
  }

  onSocketMessage(data) {
    let m
    try {
      m = JSON.parse(data)
    } catch {
      return
    }
    if (m?._type !== 'location' || m.presence) return // places: presence-only shares are chips
    if (typeof m.username === 'string' && typeof m.device === 'string' && typeof m.lat === 'number' && typeof m.lon === 'number') {
      this.upsert(m)
      this.onChange()
    } else {
      this.refresh()
    }
  }

  /** Adds or moves a device's marker; returns its key. An older fix than the one shown is ignored. */
  upsert(loc) {
    const key = `${loc.username}/${loc.device}`
    const d = this.devices.get(key)
    const ll = [loc.lat, loc.lon]
    if (!d) {
      const color = colorFor(loc.username)
      const look = lookOf(loc)
      const marker = L.marker(ll, { icon: icon(loc, look), keyboard: true, title: `${displayName(loc)}, ${loc.device}`, riseOnHover: true })
      const circle = L.circle(ll, { radius: loc.acc > 0 ? loc.acc : 0, color, weight: 1, fillOpacity: 0.08, interactive: false })
      marker.bindPopup(() => this.popup(key), { className: 'popup', minWidth: 200 })
      circle.addTo(this.map)
      marker.addTo(this.map)
      this.devices.set(key, { loc, marker, circle, look })
    } else {
      if (loc.tst < d.loc.tst) return key
      // The live feed may carry only the location: keep the card the map already knows.
      d.loc = { ...loc, name: loc.name ?? d.loc.name, face: loc.face ?? d.loc.face }
      d.marker.setLatLng(ll)
      d.circle.setLatLng(ll).setRadius(loc.acc > 0 ? loc.acc : 0)
      this.restyleOne(d)
      if (d.marker.isPopupOpen()) d.marker.setPopupContent(this.popup(key))
    }
    const pin = this.devices.get(key).marker.getElement()?.querySelector('.pin')
    if (pin) Object.assign(pin.dataset, { lat: String(loc.lat), lon: String(loc.lon), tst: String(loc.tst) })
    if (this.followKey === key) this.map.panTo(ll)
    return key
  }

  remove(key) {
    const d = this.devices.get(key)
    if (!d) return
    d.marker.remove()
    d.circle.remove()
    this.devices.delete(key)
    if (this.followKey === key) this.follow(null)
  }

  /** Redraws a marker only when what it shows changed, so keyboard focus stays on it otherwise. */
  restyleOne(d) {
    const look = lookOf(d.loc)
    if (look === d.look) return
    d.look = look
    d.marker.setIcon(icon(d.loc, look))
  }

  restyle() {
    for (const d of this.devices.values()) this.restyleOne(d)
    this.onChange()
  }

  popup(key) {
    const { loc } = this.devices.get(key)
    const rows = [
      ['Battery', battery(loc)],
      ['Speed', typeof loc.vel === 'number' ? `${Math.round(loc.vel)} km/h` : undefined],
      ['Altitude', typeof loc.alt === 'number' ? `${Math.round(loc.alt)} m` : undefined],
      ['Accuracy', typeof loc.acc === 'number' ? `${Math.round(loc.acc)} m` : undefined],
      ['Regions', Array.isArray(loc.inregions) && loc.inregions.length ? loc.inregions.join(', ') : undefined],
      ['Connection', connection(loc)],
    ].filter(([, v]) => v !== undefined)
    return el('div', {},
      el('h3', {}, displayName(loc)),
      el('p', {}, `Device: ${loc.device}`),
      el('p', {}, el('time', { datetime: new Date(loc.tst * 1000).toISOString() }, `${timeAgo(loc.tst)} · ${absTime(loc.tst)}`), isStale(loc) ? ' (stale)' : ''),
      el('dl', {}, rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
      el('button', { type: 'button', onclick: () => this.follow(key) }, 'Follow'))
  }

  focus(key) {
    const d = this.devices.get(key)
    if (!d) return
    // Centred in the part of the map the panel leaves visible.
    const zoom = Math.max(this.map.getZoom(), 15)
    const centre = this.map.project(d.marker.getLatLng(), zoom).add([0, sheetHeight() / 2])
    this.map.setView(this.map.unproject(centre, zoom), zoom)
    d.marker.openPopup()
  }

  /** Keeps one device in the middle of the map as it moves; null stops. Dragging the map stops too. */
  follow(key) {
    this.followKey = key && this.devices.has(key) ? key : null
    const d = this.followKey && this.devices.get(this.followKey)
    if (d) this.map.panTo(d.marker.getLatLng())
    this.onFollow(d ? `Following ${displayName(d.loc)} (${d.loc.device})` : null)
  }

  fitAll() {
    const all = [...this.devices.values()].map((d) => d.marker.getLatLng())
    if (all.length === 1) {
      const centre = this.map.project(all[0], 15).add([0, sheetHeight() / 2])
      this.map.setView(this.map.unproject(centre, 15), 15)
    }
    // Into the part of the map a phone's sheet leaves free.
    else if (all.length > 1) this.map.fitBounds(L.latLngBounds(all), { paddingTopLeft: [40, 40], paddingBottomRight: [40, 40 + sheetHeight()], maxZoom: 16 })
  }
}

const lookOf = (loc) => [loc.username, loc.tid, loc.face?.length, loc.face?.slice(-16), isStale(loc)].join('|')

function icon(loc, look) {
  const stale = look.endsWith('|true')
  const pin = el('div', {
    class: stale ? 'pin stale' : 'pin', 'data-user': loc.username, 'data-device': loc.device, 'data-stale': String(stale),
    'data-lat': loc.lat, 'data-lon': loc.lon, 'data-tst': loc.tst,
  })
  pin.style.setProperty('--person', colorFor(loc.username))
  if (typeof loc.face === 'string' && loc.face) pin.append(el('img', { src: `data:image/png;base64,${loc.face}`, alt: '' }))
  else pin.append(initials(loc))
  return L.divIcon({ html: pin, className: 'person-marker', iconSize: [40, 40], iconAnchor: [20, 20], popupAnchor: [0, -18] })
}
