import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runInNewContext } from 'node:vm'
import { loadConfig } from '../../src/config.js'
import { tileSource } from '../../src/http/static.js'
import { qrcodeBrowserScript } from '../../src/http/vendor-qrcode.js'

test('the CSP allows images from the tile server only: subdomains become a wildcard, paths on the hub need nothing', () => {
  assert.equal(tileSource('https://tile.openstreetmap.org/{z}/{x}/{y}.png'), 'https://tile.openstreetmap.org')
  assert.equal(tileSource('https://{s}.tile.example.org/{z}/{x}/{y}.png'), 'https://*.tile.example.org')
  assert.equal(tileSource('http://127.0.0.1:8080/{z}/{x}/{y}.png'), 'http://127.0.0.1:8080')
  assert.equal(tileSource('/tiles/{z}/{x}/{y}.png'), '')
})

test('the QR encoder script runs in a browser-like global and encodes text', () => {
  const window: Record<string, unknown> = {}
  runInNewContext(qrcodeBrowserScript(), { window, TextEncoder })
  const QRCode = window.QRCode as { create(text: string, o: object): { modules: { size: number } }; toString: unknown }
  assert.equal(typeof QRCode.toString, 'function')
  const qr = QRCode.create('owntracks:///config?inline=' + 'A'.repeat(400), { errorCorrectionLevel: 'L' })
  assert.ok(qr.modules.size >= 21)
})

test('tile and public URL settings are checked at start, with a message saying what would work', () => {
  assert.equal(loadConfig({}, {}).tileUrl, 'https://tile.openstreetmap.org/{z}/{x}/{y}.png')
  assert.equal(loadConfig({ tileUrl: 'https://{s}.tiles.example/{z}/{x}/{y}@2x.png' }, {}).tileUrl, 'https://{s}.tiles.example/{z}/{x}/{y}@2x.png')
  assert.throws(() => loadConfig({ tileUrl: 'https://tiles.example/{z}/{x}.png' }, {}), /tileUrl must be an http\(s\) URL or a path with \{z\}, \{x\} and \{y\}/)
  assert.throws(() => loadConfig({ tileUrl: 'ftp://tiles.example/{z}/{x}/{y}.png' }, {}), /tileUrl must be/)
  assert.equal(loadConfig({ publicUrl: 'https://example.net/owntracks/' }, {}).publicUrl, 'https://example.net/owntracks')
  assert.equal(loadConfig({}, { OTHUB_PUBLIC_URL: 'http://hub.local:8083' }).publicUrl, 'http://hub.local:8083')
  assert.throws(() => loadConfig({ publicUrl: 'hub.example.net' }, {}), /publicUrl must be an http\(s\) address such as https:\/\/hub\.example\.net/)
})
