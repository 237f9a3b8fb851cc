// Places on the map: the family's places drawn and editable by their owners (a circle by dragging,
// a polygon by clicks), presence chips for people shared as "place only", place events in the history,
// alerts, and this browser's Web Push subscription. Kept apart from the rest of the map: main.js,
// live.js and history.js only call in through the hooks marked "places".
import { api, latest, STALE } from './api.js'
import { absTime, colorFor, el } from './format.js'

const $ = (id) => document.getElementById(id)
const CHIPS_MS = 10_000

const hhmm = (tst) => new Date(tst * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

/** "at school since 08:02" / "away since 10:12" */
export function presenceText(p) {
  const since = typeof p.since === 'number' ? ` since ${hhmm(p.since)}` : ''
  return p.place ? `at ${p.place}${since}` : `away${since}`
}

export class PlacesPanel {
  constructor(map, session) {
    this.map = map
    this.session = session
    this.layer = L.layerGroup().addTo(map)
    this.draft = null
    this.data = { places: [], alerts: [], presence: [] }
    this.askPlaces = latest()
    this.eventsLayer = L.layerGroup().addTo(map)
    $('place-form').addEventListener('submit', (e) => { e.preventDefault(); this.save() })
    $('place-new-circle').addEventListener('click', () => this.startCircle())
    $('place-new-polygon').addEventListener('click', () => this.startPolygon())
    $('place-cancel').addEventListener('click', () => this.stopDraft())
    $('place-radius').addEventListener('input', () => this.draft?.kind === 'circle' && this.setRadius(Number($('place-radius').value)))
    $('place-send').addEventListener('click', () => this.send())
    $('alert-form').addEventListener('submit', (e) => { e.preventDefault(); this.addAlert() })
    $('alert-event').addEventListener('change', () => { $('alert-by-row').hidden = $('alert-event').value !== 'not-arrived-by' })
    $('push-on').addEventListener('click', () => this.subscribe())
    map.on('click', (e) => this.mapClick(e))
    document.addEventListener('history:shown', (e) => this.showEvents(e.detail))
    document.addEventListener('history:cleared', () => { this.eventsLayer.clearLayers(); $('history-events').replaceChildren() })
    this.chips()
    this.chipTimer = setInterval(() => this.chips(), CHIPS_MS)
    this.load()
  }

  async load() {
    // asked at start, when the panel opens and after each change: only the newest answer is drawn
    let data
    try { data = await this.askPlaces('/api/places') } catch (err) { $('place-error').textContent = err.message; return }
    if (data === STALE) return
    this.data = data
    this.draw()
    this.renderList()
    this.renderAlerts()
    this.renderPush()
  }

  draw() {
    this.layer.clearLayers()
    for (const p of this.data.places) {
      const style = { color: colorFor(p.owner), weight: 2, dashArray: '6 4', fillOpacity: 0.06 }
      const shape = p.kind === 'circle' ? L.circle([p.lat, p.lon], { ...style, radius: p.radius }) : L.polygon(p.points, style)
      shape.bindTooltip(p.name, { permanent: true, direction: 'center', className: 'place-label' })
      shape.on('click', (e) => { L.DomEvent.stopPropagation(e); if (p.mine) this.edit(p) })
      shape.addTo(this.layer)
      shape.getElement()?.setAttribute('data-place', p.id)
    }
  }

  renderList() {
    $('places-list').replaceChildren(...this.data.places.map((p) => el('li', { 'data-place': p.id },
      el('strong', {}, p.name), ` (${p.owner}) `,
      p.mine ? el('button', { type: 'button', class: 'secondary', onclick: () => this.edit(p) }, 'Edit') : '',
      p.mine ? el('button', { type: 'button', class: 'secondary', onclick: () => this.remove(p) }, 'Delete') : '')))
    $('places-empty').hidden = this.data.places.length > 0
    const people = [...new Set([this.session.user, ...this.data.places.flatMap((p) => p.people)])]
    $('alert-about').replaceChildren(...people.map((u) => el('option', { value: u }, u === this.session.user ? `${u} (me)` : u)))
    $('alert-place').replaceChildren(...this.data.places.map((p) => el('option', { value: p.name }, `${p.name} (${p.owner})`)))
  }

  renderAlerts() {
    const text = (a) => {
      const what = a['not-arrived-by'] ? `is not at ${a.places.join(' or ')} by ${a['not-arrived-by']}` : `${a.on.map((x) => (x === 'enter' ? 'arrives at' : 'leaves')).join(' or ')} ${a.places ? a.places.join(' or ') : 'any place'}`
      return `${a.about} ${what} → ${a.to.join(', ') || 'webhook'}${a.quiet ? ` (quiet ${a.quiet})` : ''}`
    }
    $('alerts-list').replaceChildren(...this.data.alerts.map((a) => el('li', { 'data-alert': a.id }, text(a), ' ',
      el('button', { type: 'button', class: 'secondary', onclick: () => this.removeAlert(a) }, 'Remove'))))
  }

  // —— presence chips: people shared with me as "place only" have no marker, only this ——
  async chips() {
    let last
    try { last = await api('/api/0/last') } catch { return }
    const list = last.filter((x) => x.presence)
    $('presence-chips').replaceChildren(...list.map((x) => {
      const dot = el('span', { class: 'dot' })
      dot.style.setProperty('background', colorFor(x.username)) // CSSOM: the CSP refuses style attributes
      return el('li', { class: 'chip presence', 'data-user': x.username, 'data-device': x.device }, dot, `${x.name ?? x.username} (${x.device}): ${presenceText(x.presence)}`)
    }))
    $('presence-chips').hidden = list.length === 0
  }

  // —— editing ——
  startCircle() {
    this.stopDraft()
    this.draft = { kind: 'circle', points: [] }
    $('place-hint').textContent = 'Click the map where the place is; drag the centre or the edge to adjust.'
    $('place-editor').hidden = false
    $('place-radius-row').hidden = false
  }

  startPolygon() {
    this.stopDraft()
    this.draft = { kind: 'polygon', points: [], layer: L.polygon([], { color: '#2563eb' }).addTo(this.map) }
    $('place-hint').textContent = 'Click the map at each corner (at least three), then Save.'
    $('place-editor').hidden = false
    $('place-radius-row').hidden = true
  }

  edit(p) {
    this.stopDraft()
    this.draft = { kind: p.kind, editing: p, points: [] }
    $('place-name').value = p.name
    $('place-editor').hidden = false
    $('place-hint').textContent = p.kind === 'circle' ? 'Drag the centre or the edge.' : 'Click the map to draw the corners again, then Save.'
    $('place-radius-row').hidden = p.kind !== 'circle'
    if (p.kind === 'circle') { this.placeCircle(L.latLng(p.lat, p.lon)); this.setRadius(p.radius) } else this.draft.layer = L.polygon([], { color: '#2563eb' }).addTo(this.map)
  }

  mapClick(e) {
    const d = this.draft
    if (!d) return
    if (d.kind === 'circle' && !d.circle) this.placeCircle(e.latlng)
    else if (d.kind === 'polygon') { d.points.push(e.latlng); d.layer.setLatLngs(d.points) }
  }

  placeCircle(ll) {
    const d = this.draft
    const radius = Number($('place-radius').value) || 150
    d.circle = L.circle(ll, { radius, color: '#2563eb' }).addTo(this.map)
    d.centre = L.marker(ll, { draggable: true, title: 'Centre', keyboard: true }).addTo(this.map)
    d.edge = L.marker(this.edgeOf(ll, radius), { draggable: true, title: 'Edge', icon: L.divIcon({ className: 'place-handle', iconSize: [14, 14] }) }).addTo(this.map)
    d.centre.on('drag', () => { d.circle.setLatLng(d.centre.getLatLng()); d.edge.setLatLng(this.edgeOf(d.centre.getLatLng(), d.circle.getRadius())) })
    d.edge.on('drag', () => this.setRadius(Math.round(this.map.distance(d.centre.getLatLng(), d.edge.getLatLng())), false))
    this.setRadius(radius)
  }

  edgeOf(ll, radius) { return L.latLng(ll.lat, ll.lng + radius / (111_320 * Math.cos((ll.lat * Math.PI) / 180))) }

  setRadius(r, moveEdge = true) {
    const d = this.draft
    $('place-radius').value = String(Math.round(r))
    if (!d?.circle) return
    d.circle.setRadius(r)
    if (moveEdge) d.edge.setLatLng(this.edgeOf(d.centre.getLatLng(), r))
  }

  stopDraft() {
    const d = this.draft
    for (const l of [d?.circle, d?.centre, d?.edge, d?.layer]) l?.remove()
    this.draft = null
    $('place-editor').hidden = true
    $('place-error').textContent = ''
    $('place-name').value = ''
  }

  async save() {
    const d = this.draft
    if (!d) return
    const name = $('place-name').value.trim()
    let body
    if (d.kind === 'circle') {
      if (!d.circle) { $('place-error').textContent = 'Click the map to put the place there first.'; return }
      const c = d.centre.getLatLng()
      body = { name, lat: round6(c.lat), lon: round6(c.lng), radius: Math.round(d.circle.getRadius()) }
    } else {
      if (d.points.length < 3) { $('place-error').textContent = 'A polygon needs at least three corners.'; return }
      body = { name, polygon: d.points.map((p) => [round6(p.lat), round6(p.lng)]) }
    }
    try {
      if (d.editing) await api(`/api/places/${encodeURIComponent(d.editing.owner)}/${encodeURIComponent(d.editing.name)}`, { method: 'PUT', body: { ...body, owner: d.editing.owner } })
      else await api('/api/places', { method: 'POST', body })
    } catch (err) { $('place-error').textContent = err.message; return }
    this.stopDraft()
    await this.load()
  }

  async remove(p) {
    if (!confirm(`Delete the place ${p.name}?`)) return
    try { await api(`/api/places/${encodeURIComponent(p.owner)}/${encodeURIComponent(p.name)}`, { method: 'DELETE' }) } catch (err) { $('place-error').textContent = err.message; return }
    await this.load()
  }

  async send() {
    try {
      const r = await api('/api/places/send', { method: 'POST' })
      $('place-status').textContent = r.devices.length ? `Sent ${r.places.length} place(s) to ${r.devices.join(', ')}.` : 'No phone of yours has reported yet.'
    } catch (err) { $('place-error').textContent = err.message }
  }

  // —— alerts ——
  async addAlert() {
    const kind = $('alert-event').value
    const body = { about: $('alert-about').value, to: this.session.user, places: [$('alert-place').value] }
    if (kind === 'not-arrived-by') Object.assign(body, { 'not-arrived-by': $('alert-by').value, days: ['mon', 'tue', 'wed', 'thu', 'fri'] })
    else body.on = kind === 'both' ? ['enter', 'leave'] : [kind]
    if ($('alert-quiet').value.trim()) body.quiet = $('alert-quiet').value.trim()
    try { await api('/api/places/alerts', { method: 'POST', body }) } catch (err) { $('alert-error').textContent = err.message; return }
    $('alert-error').textContent = ''
    await this.load()
  }

  async removeAlert(a) {
    try { await api(`/api/places/alerts/${encodeURIComponent(a.id)}`, { method: 'DELETE' }) } catch (err) { $('alert-error').textContent = err.message; return }
    await this.load()
  }

  // —— Web Push in this browser ——
  async renderPush() {
    let r
    try { r = await api('/api/push') } catch { return }
    this.publicKey = r.publicKey
    const here = await this.currentSubscription()
    $('push-list').replaceChildren(...r.subscriptions.map((s) => el('li', {}, `${s.endpoint === here?.endpoint ? 'This browser' : s.label} (since ${absTime(Date.parse(s.created) / 1000)}) `,
      el('button', { type: 'button', class: 'secondary', onclick: () => this.unsubscribe(s.endpoint) }, 'Revoke'))))
    $('push-on').hidden = !('serviceWorker' in navigator && 'PushManager' in window) || (here && r.subscriptions.some((s) => s.endpoint === here.endpoint))
  }

  async currentSubscription() {
    if (!('serviceWorker' in navigator)) return null
    const reg = await navigator.serviceWorker.getRegistration('/')
    return reg ? reg.pushManager.getSubscription() : null
  }

  async subscribe() {
    $('push-error').textContent = ''
    try {
      const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' })
      await navigator.serviceWorker.ready
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64urlBytes(this.publicKey) })
      await api('/api/push/subscriptions', { method: 'POST', body: { ...sub.toJSON(), label: navigator.userAgent.slice(0, 100) } })
    } catch (err) { $('push-error').textContent = `Alerts cannot be turned on in this browser: ${err.message}` }
    await this.renderPush()
  }

  async unsubscribe(endpoint) {
    try {
      await api('/api/push/subscriptions', { method: 'DELETE', body: { endpoint } })
      const here = await this.currentSubscription()
      if (here?.endpoint === endpoint) await here.unsubscribe()
    } catch (err) { $('push-error').textContent = err.message }
    await this.renderPush()
  }

  // —— events in the history ——
  async showEvents({ user, device, from, to }) {
    this.eventsLayer.clearLayers()
    let r
    try { r = await api(`/api/places/events?user=${encodeURIComponent(user)}&device=${encodeURIComponent(device)}&from=${from}&to=${to}`) } catch { $('history-events').replaceChildren(); return }
    $('history-events').replaceChildren(...r.events.map((e) => el('li', { class: `event ${e.by}`, 'data-event': e.event, 'data-by': e.by },
      `${hhmm(e.tst)} ${e.event === 'enter' ? 'arrived at' : 'left'} ${e.place ?? 'a region'}`, el('span', { class: 'by' }, e.by === 'hub' ? ' · place' : ' · phone region'))))
    for (const e of r.events) if (typeof e.lat === 'number') L.circleMarker([e.lat, e.lon], { radius: 6, color: e.by === 'hub' ? '#2563eb' : '#9333ea', fillOpacity: 0.9 }).bindTooltip(`${e.event} ${e.place ?? ''} ${absTime(e.tst)}`).addTo(this.eventsLayer)
  }
}

const round6 = (x) => Math.round(x * 1e6) / 1e6

function base64urlBytes(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4))
  return Uint8Array.from(b, (c) => c.charCodeAt(0))
}
