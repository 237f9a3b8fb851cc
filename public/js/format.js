// Small pure helpers shared by the map's modules: words, numbers, colours, distances.

/** One colour per person, stable across reloads: a hue from the user name, dark enough for white text. */
export function colorFor(user) {
  let h = 0
  for (const ch of user) h = (h * 31 + ch.codePointAt(0)) >>> 0
  return `hsl(${h % 360}, 65%, 33%)`
}

/** Up to two letters for a marker: the tracker id, else the start of the name. */
export function initials(loc) {
  const tid = typeof loc.tid === 'string' && loc.tid.trim() ? loc.tid.trim() : (loc.username || '?')
  return tid.slice(0, 2)
}

export function displayName(loc) {
  return typeof loc.name === 'string' && loc.name ? loc.name : loc.username
}

export function timeAgo(tst, now = Date.now() / 1000) {
  const s = Math.max(0, Math.round(now - tst))
  if (s < 45) return 'just now'
  if (s < 90) return '1 min ago'
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 2 * 3600) return '1 hour ago'
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`
  if (s < 2 * 86400) return 'yesterday'
  return `${Math.round(s / 86400)} days ago`
}

/** Local time, e.g. "2024-05-01 14:03:04". */
export function absTime(tst) {
  const d = new Date(tst * 1000)
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

export function clockTime(tst) {
  return absTime(tst).slice(11)
}

/** "81 %", "81 % (charging)", or undefined when the phone did not say. */
export function battery(loc) {
  if (typeof loc.batt !== 'number') return undefined
  const state = { 2: ' (charging)', 3: ' (full)' }[loc.bs] ?? ''
  return `${Math.round(loc.batt)} %${state}`
}

export function connection(loc) {
  const kind = { w: 'Wi-Fi', m: 'mobile data', o: 'offline' }[loc.conn]
  if (!kind) return undefined
  return loc.conn === 'w' && typeof loc.SSID === 'string' ? `${kind} (${loc.SSID})` : kind
}

export function distanceText(m) {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(m < 10_000 ? 2 : 1)} km`
}

export function durationText(s) {
  const h = Math.floor(s / 3600)
  const m = Math.round((s % 3600) / 60)
  return h ? `${h} h ${m} min` : `${m} min`
}

/** Great-circle distance in metres. */
export function haversine(lat1, lon1, lat2, lon2) {
  const r = Math.PI / 180
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2
  return 12_742_000 * Math.asin(Math.min(1, Math.sqrt(a)))
}

/** A local datetime-local input value for a Date. */
export function localInputValue(d) {
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/** The apps' tour time format: UTC without a zone, e.g. 2022-08-01T05:35:58. */
export function utcTourTime(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, '')
}

/** Creates an element with attributes and children (text or nodes); never parses HTML. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') e.className = v
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else e.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c)
  return e
}

/** How much of the map the panel covers from below (on narrow screens it is a sheet over the map). */
export function sheetHeight() {
  const panel = document.getElementById('panel')
  return panel && !panel.hidden && getComputedStyle(panel).position === 'absolute' ? panel.offsetHeight : 0
}
