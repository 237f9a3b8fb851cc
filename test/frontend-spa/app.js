/*
 * What the OwnTracks Frontend (2.15) does when it starts, in a few lines: asks /api/0/version, /list,
 * /last, then /locations for each device, draws Leaflet with subdomain tiles ({s}), and listens on
 * /ws/last. It reports what it got in document.body.dataset so a test can read it.
 * window.spaConfig (config/config.js): { baseUrl, tileUrl, basic: 'user:password' | undefined, live: false to skip /ws/last }.
 */
(function () {
  'use strict'
  var cfg = window.spaConfig
  var base = cfg.baseUrl || ''
  var state = document.body.dataset
  var status = document.getElementById('status')
  var headers = cfg.basic ? { Authorization: 'Basic ' + btoa(cfg.basic) } : {}
  var map = L.map('map').setView([51.5, -0.12], 13)
  L.tileLayer(cfg.tileUrl, { subdomains: 'abc', maxZoom: 19 }).addTo(map)
  var markers = {}

  // With `basic`, every call sends the login itself (a cross-origin app: the browser preflights it);
  // without, the browser sends the one it asked for when the page loaded. /ws/last always goes with the
  // browser's: a WebSocket handshake cannot carry an Authorization header.
  function api(path) {
    return fetch(base + '/api/0/' + path, { headers: headers, credentials: 'include' }).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status)
      return r.json()
    })
  }
  function place(loc) {
    var key = loc.username + '/' + loc.device
    if (markers[key]) markers[key].setLatLng([loc.lat, loc.lon])
    else markers[key] = L.circleMarker([loc.lat, loc.lon], { radius: 8 }).bindTooltip(loc.tid || key).addTo(map)
  }
  function show(text) {
    status.textContent = text
    status.style.background = '#2e7d32' // set from script, as Vue does
  }

  api('version').then(function (v) {
    state.version = v.version
    return api('list')
  }).then(function (list) {
    state.users = list.results.join(',')
    return api('last')
  }).then(function (last) {
    last.forEach(place)
    state.last = String(last.length)
    var to = new Date().toISOString().slice(0, 19)
    return Promise.all(last.map(function (l) {
      return api('locations?user=' + encodeURIComponent(l.username) + '&device=' + encodeURIComponent(l.device) + '&from=2000-01-01&to=' + to)
    }))
  }).then(function (tracks) {
    var points = 0
    tracks.forEach(function (t) {
      points += t.data.length
      if (t.data.length) L.polyline(t.data.map(function (p) { return [p.lat, p.lon] })).addTo(map)
    })
    state.points = String(points)
    show('ready: ' + state.users + ', ' + points + ' points')
    state.state = 'ready'
    if (cfg.live === false) return
    var wsBase = base ? base.replace(/^http/, 'ws') : location.origin.replace(/^http/, 'ws')
    var ws = new WebSocket(wsBase + '/ws/last')
    var live = 0
    ws.onopen = function () { ws.send('LAST') }
    ws.onmessage = function (e) {
      var m = JSON.parse(e.data)
      if (m._type !== 'location') return
      place(m)
      state.live = String(++live)
      state.lastTid = m.tid || ''
    }
    ws.onerror = function () { state.wsError = 'error' }
  }).catch(function (err) {
    state.state = 'failed'
    state.error = err.message
    status.textContent = 'failed: ' + err.message
  })
})()
