// "Add a phone": the OwnTracks app's settings for this hub, as text, as a QR code and as the
// owntracks:///config?inline=<base64 .otrc> link the apps import. Everything is made in this page:
// the password typed here goes into the QR code and the link only, and is never sent to the hub.
import { el } from './format.js'

const $ = (id) => document.getElementById(id)

/** Addresses that mean "this computer": a phone that is given one reaches itself, not the hub. */
export const isLoopback = (host) => /^(localhost|127(\.\d+){3}|\[?::1\]?|0\.0\.0\.0)$/i.test(host)
const hostOf = (url) => { try { return new URL(url).hostname } catch { return '' } }

export class PhoneSetup {
  constructor(session) {
    this.session = session
    const ports = session.map
    // The operator's public address when given; else the one this browser used.
    const origin = ports.publicUrl ?? location.origin
    $('phone-host').value = hostOf(origin) || location.hostname
    // While TLS runs, phones should use it: their password then never crosses the network in clear.
    const tlsPort = ports.tlsPort ?? null
    $('phone-tls').checked = tlsPort !== null
    $('phone-port').value = String(tlsPort ?? ports.mqttPort)
    if (tlsPort !== null) ports.mqttsPort = tlsPort
    $('phone-url').value = `${origin}/pub`
    $('phone-user').value = session.user
    // Admins set up phones for the family; everyone else only for themselves.
    $('phone-user').readOnly = !session.admin
    $('phone-form').addEventListener('submit', (e) => e.preventDefault())
    $('phone-form').addEventListener('input', () => this.update())
    $('phone-mode').addEventListener('change', () => {
      const http = $('phone-mode').value === 'http'
      $('phone-mqtt').hidden = http
      $('phone-http').hidden = !http
      this.update()
    })
    $('phone-tls').addEventListener('change', () => {
      const port = $('phone-port')
      const tls = $('phone-tls').checked
      if (tls && port.value === String(ports.mqttPort) && ports.mqttsPort) port.value = String(ports.mqttsPort)
      if (!tls && port.value === String(ports.mqttsPort)) port.value = String(ports.mqttPort)
      this.update()
    })
    this.update()
  }

  /** The app's configuration (booklet: tech/json.md, _type configuration). */
  config() {
    const v = (id) => $(id).value.trim()
    const c = { _type: 'configuration' }
    if ($('phone-mode').value === 'http') {
      Object.assign(c, { mode: 3, url: v('phone-url') })
    } else {
      Object.assign(c, { mode: 0, host: v('phone-host'), port: Number(v('phone-port')), tls: $('phone-tls').checked, mqttProtocolLevel: 4, cleanSession: false, sub: true })
      const base = this.session.map.topicBase
      if (base !== 'owntracks') Object.assign(c, { pubTopicBase: `${base}/%u/%d`, subTopic: `${base}/+/+ ${base}/+/+/event ${base}/+/+/info` })
    }
    Object.assign(c, { auth: true, username: v('phone-user'), deviceId: v('phone-device') })
    if (v('phone-tid')) c.tid = v('phone-tid')
    if ($('phone-password').value) c.password = $('phone-password').value
    return c
  }

  update() {
    const c = this.config()
    const host = c.mode === 3 ? hostOf(c.url) : c.host
    const warn = $('phone-warning')
    warn.hidden = !isLoopback(host)
    warn.textContent = warn.hidden ? '' : `${host} is this computer's own address: a phone given it would look for the hub on itself. Type the hub's address in your network (such as 192.168.1.20) or its name${this.session.admin ? ', or start the hub with --public-url' : ''}.`
    $('phone-ca').hidden = !(c.mode === 0 && c.tls)
    const json = JSON.stringify(c, null, 2)
    const link = `owntracks:///config?inline=${base64(JSON.stringify(c))}`
    const rows = c.mode === 3
      ? [['Mode', 'HTTP'], ['URL', c.url]]
      : [['Mode', 'MQTT'], ['Host', c.host], ['Port', String(c.port)], ['TLS', c.tls ? 'on' : 'off']]
    rows.push(['User', c.username], ['Device', c.deviceId])
    if (c.tid) rows.push(['Initials', c.tid])
    rows.push(['Password', c.password ? 'included in the code and link below' : 'type it in the app'])
    $('phone-settings').replaceChildren(...rows.flatMap(([k, val]) => [el('dt', {}, k), el('dd', {}, val)]))
    $('phone-link').href = link
    if (this.blobUrl) URL.revokeObjectURL(this.blobUrl)
    this.blobUrl = URL.createObjectURL(new Blob([json + '\n'], { type: 'application/json' }))
    Object.assign($('phone-otrc'), { href: this.blobUrl, download: `${c.username || 'phone'}-${c.deviceId || 'phone'}.otrc` })
    const canvas = $('phone-qr')
    window.QRCode.toCanvas(canvas, link, { errorCorrectionLevel: 'L', margin: 2, width: 240 }, (err) => {
      canvas.dataset.content = err ? '' : 'config'
      if (err) canvas.setAttribute('aria-label', `No QR code: ${err.message}`)
    })
  }
}

/** Base64 of the UTF-8 bytes (btoa alone only takes Latin-1). */
function base64(text) {
  let bin = ''
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b)
  return btoa(bin)
}
