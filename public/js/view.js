// A tour's public page: the track between the tour's start and end, and the device's position while it
// is inside that window. The hub sends nothing else, so there is nothing else to hide here.
import { absTime, el } from './format.js'

const uuid = location.pathname.split('/')[2]
const $ = (id) => document.getElementById(id)
const REFRESH_MS = 30_000

const map = L.map('map').setView([30, 0], 2)
const config = JSON.parse($('tiles').textContent)
L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map)
const renderer = L.canvas({ padding: 0.5 })
let layer = null
let fitted = false

async function load() {
  let res
  try {
    res = await fetch(`/view/${encodeURIComponent(uuid)}/track`, { cache: 'no-store' })
  } catch {
    $('status').textContent = 'The hub cannot be reached; retrying.'
    return setTimeout(load, REFRESH_MS)
  }
  if (res.status === 404) {
    $('title').textContent = 'Tour not found'
    $('status').textContent = 'This tour has been deleted.'
    layer?.remove()
    return
  }
  const t = await res.json()
  $('title').textContent = t.label || 'Tour'
  $('window').textContent = `${absTime(t.fromTst)} to ${absTime(t.toTst)}`
  draw(t)
  if (Date.now() / 1000 <= t.toTst) setTimeout(load, REFRESH_MS)
}

function draw(t) {
  layer?.remove()
  layer = L.layerGroup().addTo(map)
  const lls = t.points.map(([lat, lon]) => [lat, lon])
  $('status').dataset.points = String(lls.length)
  $('status').textContent = lls.length ? `${lls.length} positions` : 'No positions in this window yet.'
  if (lls.length) {
    L.polyline(lls, { renderer, color: '#1d4ed8', weight: 4, interactive: false }).addTo(layer)
    const step = Math.max(1, Math.ceil(lls.length / 2000))
    for (let i = 0; i < lls.length; i += step) L.circleMarker(lls[i], { renderer, radius: 3, color: '#fff', weight: 1, fillColor: '#1d4ed8', fillOpacity: 1, interactive: false }).addTo(layer)
  }
  if (t.last) {
    L.circleMarker([t.last.lat, t.last.lon], { radius: 9, color: '#fff', weight: 3, fillColor: '#dc2626', fillOpacity: 1 })
      .bindTooltip(`Last position: ${absTime(t.last.tst)}`).addTo(layer)
    $('status').append(el('span', { id: 'last' }, ` · last position ${absTime(t.last.tst)}`))
  }
  const all = t.last ? [...lls, [t.last.lat, t.last.lon]] : lls
  if (!fitted && all.length) {
    fitted = true
    map.fitBounds(L.latLngBounds(all), { padding: [30, 30], maxZoom: 16 })
  }
}

load()
