// The map's entry point: sign-in, then the live map with its panels (people, timeline, history, sharing, tours, add a phone).
import { api, configureApi, setCsrf } from './api.js'
import { History } from './history.js'
import { LiveMap } from './live.js'
import { People } from './people.js'
import { PhoneSetup } from './phone.js'
import { PlacesPanel } from './places.js' // places
import { SharingPanel } from './sharing.js'
import { UsersPanel } from './users.js'
import { ToursPanel } from './tours.js'
import { Timeline } from './timeline.js'
import { sheetHeight } from './format.js'

const $ = (id) => document.getElementById(id)
let running = false

configureApi({
  // A session that ended (expired, password changed, signed out elsewhere): start over at the sign-in form.
  onSignedOut: () => { if (running) location.reload() },
  onReachability: (ok) => { $('offline').hidden = ok },
})

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  $('signin-error').textContent = ''
  try {
    await api('/signin', { method: 'POST', body: { user: $('signin-user').value.trim(), password: $('signin-password').value } })
    $('signin-password').value = ''
    await boot()
  } catch (err) {
    $('signin-error').textContent = err.status === 0 ? 'The hub cannot be reached; try again in a moment.' : err.message
  }
})

boot()

async function boot() {
  let session
  try {
    session = await api('/session')
  } catch {
    setTimeout(boot, 5000) // unreachable: the banner says so; try again
    return
  }
  if (session.user === null) showSignIn()
  else startApp(session)
}

function showSignIn() {
  $('app').hidden = true
  $('signin').hidden = false
  $('signin-user').focus()
}

function startApp(session) {
  running = true
  setCsrf(session.csrf)
  $('signin').hidden = true
  $('app').hidden = false
  $('whoami').textContent = `(${session.user})`
  // On a phone the label is hidden and only the name shows: the button still says what it does.
  $('btn-signout').setAttribute('aria-label', `Sign out (${session.user})`)

  const map = L.map('map', { worldCopyJump: true }).setView([30, 0], 2)
  const tiles = L.tileLayer(session.map.tileUrl, { attribution: session.map.tileAttribution, maxZoom: 19 })
  let tileLoaded = false
  tiles.on('tileload', () => { tileLoaded = true; $('tiles-note').hidden = true })
  tiles.on('tileerror', () => { if (!tileLoaded) $('tiles-note').hidden = false })
  tiles.addTo(map)

  let fitted = false
  const live = new LiveMap(map, {
    live: session.map.live,
    onChange: () => {
      people.render()
      history.refreshDevices()
      timeline.refreshDevices()
      tours.refreshDevices()
      if (!fitted && live.loaded && live.devices.size) { fitted = true; live.fitAll() }
    },
    onFollow: (text) => {
      $('following').hidden = !text
      $('following-name').textContent = text ?? ''
    },
  })
  const people = new People(live)
  const history = new History(map, live)
  const timeline = new Timeline(map, live, { isOpen: () => !$('panel-timeline').hidden })
  const tours = new ToursPanel(live, session)
  const sharing = new SharingPanel(session, { onChanged: () => live.refresh() })
  const users = session.admin ? new UsersPanel(session) : null
  new PhoneSetup(session)
  const places = new PlacesPanel(map, session) // places

  const tabs = [...document.querySelectorAll('button.tab')]
  /**
   * What the map is about right now, to keep in view when a panel opens or closes: the day or the track
   * shown, else the markers that were in view (all of them if none was).
   */
  const subject = (seen) => {
    const shown = timeline.bounds() ?? history.bounds()
    if (shown) return shown
    const all = [...live.devices.values()].map((d) => d.marker.getLatLng())
    const inView = all.filter((ll) => seen.contains(ll))
    return (inView.length ? inView : all).length ? L.latLngBounds(inView.length ? inView : all) : null
  }
  // A zoom still animating when a panel opens ends where it was headed: Leaflet moves the map to the
  // animation's target when its transition ends, which would undo the fit made meanwhile. So the fit
  // waits for the zoom to end. A zoom asked for just before (the first fit's, a tap on +) begins only at
  // the next animation frame, so that is where the fit looks.
  let zooming = false
  map.on('zoomanim', () => { zooming = true })
  map.on('zoomend', () => { zooming = false })
  const open = (name) => {
    const seen = map.getBounds()
    for (const t of tabs) {
      const on = t.dataset.panel === name
      t.setAttribute('aria-expanded', String(on))
      $(`panel-${t.dataset.panel}`).hidden = !on
    }
    $('panel').hidden = name === null
    // The panel takes room from the map (a column on a desktop, a sheet over it on a phone): fit again,
    // now that the sheet is open, into the part of the map still free.
    map.invalidateSize({ pan: false })
    const fit = () => {
      const b = subject(seen)
      if (!b) return
      const one = b.getNorthEast().equals(b.getSouthWest())
      map.fitBounds(one ? b.pad(0.002) : b, { paddingTopLeft: [40, 40], paddingBottomRight: [40, 40 + sheetHeight()], maxZoom: one ? Math.max(map.getZoom(), 15) : 17, animate: false })
    }
    requestAnimationFrame(() => {
      if (zooming) map.once('zoomend', fit)
      else fit()
    })
    if (name === 'tours') tours.load()
    if (name === 'sharing') { sharing.load(); users?.load() }
    if (name === 'timeline') timeline.load()
    if (name === 'places') places.load() // places
  }
  for (const t of tabs) t.addEventListener('click', () => open(t.getAttribute('aria-expanded') === 'true' ? null : t.dataset.panel))
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !$('panel').hidden) open(null) })
  $('btn-fit').addEventListener('click', () => { live.follow(null); live.fitAll() })
  $('following-stop').addEventListener('click', () => live.follow(null))
  $('btn-signout').addEventListener('click', async () => {
    try {
      await api('/signout', { method: 'POST' })
    } finally {
      live.stop()
      location.reload()
    }
  })
  live.start()
}
