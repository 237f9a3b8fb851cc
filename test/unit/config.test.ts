import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tempDir } from '../helpers/hub.js'
import { ConfigError, envName, loadConfig } from '../../src/config.js'

const file = (text: string) => {
  const p = join(tempDir('othub-cfg-'), 'hub.yml')
  writeFileSync(p, text)
  return p
}

test('defaults: data ./data, rules ./acl, 0.0.0.0, ports 1883/8083/8883, no anonymous', () => {
  const c = loadConfig({}, {})
  assert.equal(c.data, resolve('data'))
  assert.equal(c.aclDir, resolve('acl'))
  assert.equal(c.passwordFile, resolve('data', 'passwd'))
  assert.deepEqual([c.host, c.mqttPort, c.httpPort, c.mqttsPort, c.allowAnonymous], ['0.0.0.0', 1883, 8083, 8883, false])
})

test('flags win over environment, environment over the config file, the file over defaults', () => {
  const cfg = file('mqttPort: 1111\nhttpPort: 2222\nmqttsPort: 3333\n')
  const c = loadConfig({ config: cfg, mqttPort: '4444' }, { [envName('httpPort')]: '5555' })
  assert.deepEqual([c.mqttPort, c.httpPort, c.mqttsPort], [4444, 5555, 3333])
})

test('every option has an OTHUB_ environment twin', () => {
  assert.equal(envName('data'), 'OTHUB_DATA')
  assert.equal(envName('mqttPort'), 'OTHUB_MQTT_PORT')
  const c = loadConfig({}, { OTHUB_DATA: '/tmp/x', OTHUB_ALLOW_ANONYMOUS: 'true', OTHUB_LOG_LEVEL: 'debug' })
  assert.deepEqual([c.data, c.allowAnonymous, c.logLevel], ['/tmp/x', true, 'debug'])
})

test('a bad value or an unknown key is refused with a message naming it', () => {
  assert.throws(() => loadConfig({ mqttPort: '70000' }, {}), (e: Error) => e instanceof ConfigError && /--mqtt-port: mqttPort must be a port number/.test(e.message))
  assert.throws(() => loadConfig({}, { OTHUB_LOG_LEVEL: 'loud' }), /OTHUB_LOG_LEVEL: logLevel must be one of error, warn, info, debug/)
  assert.throws(() => loadConfig({ config: file('mqtt_port: 1\n') }, {}), /unknown key 'mqtt_port' \(known: .*mqttPort/)
  assert.throws(() => loadConfig({ config: file('mqttPort: [1\n') }, {}), /not valid YAML\/JSON/)
  assert.throws(() => loadConfig({ config: '/nonexistent/hub.yml' }, {}), /cannot read it \(ENOENT\)/)
})

test('OTHUB_TEST_CLOCK (tests only) starts the alerts\' clock elsewhere, optionally faster; off by default; a mistake is refused', () => {
  assert.equal(loadConfig({}, {}).testClock, undefined)
  assert.deepEqual(loadConfig({}, { OTHUB_TEST_CLOCK: '2026-12-07T08:20:00+01:00 x60' }).testClock, { start: Date.parse('2026-12-07T07:20:00Z'), rate: 60 })
  assert.deepEqual(loadConfig({}, { OTHUB_TEST_CLOCK: '2026-12-07T08:20:00Z' }).testClock, { start: Date.parse('2026-12-07T08:20:00Z'), rate: 1 })
  assert.throws(() => loadConfig({}, { OTHUB_TEST_CLOCK: '2026-12-07T08:20:00' }), /OTHUB_TEST_CLOCK must be a time with its zone/)
  assert.throws(() => loadConfig({}, { OTHUB_TEST_CLOCK: 'tomorrow x2' }), /OTHUB_TEST_CLOCK must be/)
})
