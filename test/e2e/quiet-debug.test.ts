import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startHub } from '../helpers/hub.js'
import { client } from '../helpers/phone.js'

const QUIET = fileURLToPath(new URL('../../src/quiet-debug.js', import.meta.url))

/** Runs `script` in a fresh Node with quiet-debug.js loaded first, as cli.ts loads it. */
function afterQuiet(script: string, env: Record<string, string | undefined>): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(QUIET)});\n${script}`], { env: { ...process.env, DEBUG: undefined, ...env }, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
}

const PACKET_ROUND_TRIP = `
import { createRequire } from 'node:module'
const require = createRequire(${JSON.stringify(fileURLToPath(import.meta.url))})
const mqtt = require('mqtt-packet')
const debug = createRequire(require.resolve('mqtt-packet'))('debug')
const parser = mqtt.parser()
let got
parser.on('packet', (p) => { got = p })
parser.parse(mqtt.generate({ cmd: 'publish', topic: 'owntracks/jane/phone', payload: Buffer.from('{}'), qos: 1, messageId: 7, retain: true }))
console.log(JSON.stringify({ topic: got.topic, messageId: got.messageId, retain: got.retain, tracing: debug('mqtt-packet:parser').enabled, noop: debug.formatters.o === undefined }))
`

test('without DEBUG, mqtt-packet traces nothing and costs nothing for it; packets are parsed and written as before', () => {
  const out = JSON.parse(afterQuiet(PACKET_ROUND_TRIP, {})) as Record<string, unknown>
  assert.deepEqual(out, { topic: 'owntracks/jane/phone', messageId: 7, retain: true, tracing: false, noop: true })
})

test('with DEBUG set, the real debug package is there: DEBUG=mqtt-packet:* traces each packet', () => {
  const out = JSON.parse(afterQuiet(PACKET_ROUND_TRIP, { DEBUG: 'mqtt-packet:*' })) as Record<string, unknown>
  assert.deepEqual(out, { topic: 'owntracks/jane/phone', messageId: 7, retain: true, tracing: true, noop: false })
})

test("a hub started with DEBUG=mqtt-packet:parser writes the trace of a phone's CONNECT to standard error", async () => {
  const hub = await startHub({ env: { DEBUG: 'mqtt-packet:parser' } })
  try {
    const c = await client(hub.mqttPort, 'admin', hub.adminPassword)
    await c.endAsync()
    await hub.waitForLog(/mqtt-packet:parser .*_parseConnect/)
  } finally {
    await hub.stop()
  }
})
