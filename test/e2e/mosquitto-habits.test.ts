import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { MOSQUITTO } from '../helpers/mosquitto-broker.js'
import { freePort } from '../helpers/ports.js'
import { runCli, startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { mosquittoPub } from '../helpers/mosquitto.js'

/*
 * What a Mosquitto user brings along: password files written by Debian's mosquitto_passwd, and a
 * mosquitto.conf that Debian's Mosquitto itself accepts.
 */

const passwd = (...args: string[]) => execFileSync('mosquitto_passwd', args)
const pub = (hub: { mqttPort: number }, user: string, password: string) =>
  mosquittoPub(['-p', String(hub.mqttPort), '-u', user, '-P', password, '-q', '1', '-t', `owntracks/${user}/phone`, '-m', 'hello'])

describe('a password file written by Debian\'s mosquitto_passwd', () => {
  let hub: RunningHub
  let file: string
  before(async () => {
    file = join(tempDir('othub-passwd-'), 'passwd')
    passwd('-c', '-b', file, 'jane', 'jane-pw') // $7$ (PBKDF2-SHA512), Mosquitto 2's default
    passwd('-H', 'sha512', '-b', file, 'fred', 'fred-pw') // $6$, Mosquitto 1.6's
    assert.match(readFileSync(file, 'utf8'), /^jane:\$7\$.*\nfred:\$6\$/m)
    hub = await startHub({ args: ['--password-file', file] })
  })
  after(async () => { await hub?.stop() })

  test('works unchanged: $7$ and $6$ users log in, a wrong password is refused (mosquitto_pub exits 5)', async () => {
    assert.equal((await pub(hub, 'jane', 'jane-pw')).code, 0)
    assert.equal((await pub(hub, 'fred', 'fred-pw')).code, 0)
    assert.equal((await pub(hub, 'jane', 'wrong')).code, 5)
  })

  test('works live: mosquitto_passwd changing, adding and deleting users while the hub runs', async () => {
    const since = hub.logs().length
    passwd('-b', file, 'jane', 'new-pw')
    passwd('-H', 'sha512', '-b', file, 'bob', 'bob-pw')
    passwd('-D', file, 'fred')
    await hub.waitForLog(/Reloaded users: \d+ /, 5000, since)
    assert.equal((await pub(hub, 'jane', 'new-pw')).code, 0, 'the new password')
    assert.equal((await pub(hub, 'jane', 'jane-pw')).code, 5, 'not the old one')
    assert.equal((await pub(hub, 'bob', 'bob-pw')).code, 0, 'a user added')
    assert.equal((await pub(hub, 'fred', 'fred-pw')).code, 5, 'a user deleted')
  })

  test('stays a Mosquitto file: a user the hub adds logs in to Debian\'s Mosquitto', async () => {
    const since = hub.logs().length
    assert.equal((await runCli(['user', 'add', 'carol', '--password', 'carol-pw', '--password-file', file, '--data', hub.dataDir])).code, 0)
    await hub.waitForLog(/Reloaded users: \d+ /, 5000, since)
    assert.match(readFileSync(file, 'utf8'), /^carol:\$7\$/m)
    const port = await freePort()
    const dir = tempDir('othub-mosq-')
    writeFileSync(join(dir, 'm.conf'), `user root\nlistener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${file}\npersistence false\n`)
    const proc = spawn(MOSQUITTO, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' })
    try {
      await waitListening(port)
      assert.equal((await pub({ mqttPort: port }, 'carol', 'carol-pw')).code, 0)
      assert.equal((await pub({ mqttPort: port }, 'jane', 'new-pw')).code, 0)
      assert.equal((await pub(hub, 'carol', 'carol-pw')).code, 0)
    } finally {
      proc.kill('SIGTERM')
    }
  })
})

describe('owntracks-hub config import: a mosquitto.conf Debian\'s Mosquitto runs', () => {
  let root: string
  let conf: string
  let ports: { mqtt: number; mqtts: number; ws: number }

  before(async () => {
    root = tempDir('othub-import-')
    // A TLS pair from the hub's own CA, for the TLS listener.
    assert.equal((await runCli(['tls', 'init', '--data', join(root, 'tlsdata')])).code, 0)
    const tls = join(root, 'tlsdata', 'tls')
    passwd('-c', '-b', join(root, 'passwd'), 'jane', 'jane-pw')
    writeFileSync(join(root, 'family.acl'), 'user jane\ntopic readwrite owntracks/jane/#\ntopic read owntracks/+/+\n')
    ports = { mqtt: await freePort(), mqtts: await freePort(), ws: await freePort() }
    conf = join(root, 'mosquitto.conf')
    writeFileSync(conf, [
      '# as an operator would have it, after the booklet',
      'user root',
      `pid_file ${root}/mosquitto.pid`,
      'persistence true',
      `persistence_location ${root}/`,
      `log_dest file ${root}/mosquitto.log`,
      'per_listener_settings false',
      `listener ${ports.mqtt} 127.0.0.1`,
      `listener ${ports.mqtts} 127.0.0.1`,
      `cafile ${tls}/ca.crt`,
      `certfile ${tls}/server.crt`,
      `keyfile ${tls}/server.key`,
      `listener ${ports.ws} 127.0.0.1`,
      'protocol websockets',
      'allow_anonymous false',
      `password_file ${root}/passwd`,
      `acl_file ${root}/family.acl`,
      'message_size_limit 1000',
      'max_connections 50',
      'max_inflight_messages 20',
      'connection friend',
      'address 127.0.0.1:1',
      'topic owntracks/# both 1',
      'restart_timeout 5 30',
      '',
    ].join('\n'))
    // Debian's Mosquitto accepts the file: it opens all three listeners.
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' })
    const exited = new Promise((r) => proc.once('exit', r))
    try {
      for (const p of Object.values(ports)) await waitListening(p, () => proc.exitCode !== null)
    } finally { proc.kill('SIGTERM'); await exited }
  })

  test('prints a line per setting: what it became, what the hub does instead, or that it cannot be honoured', async () => {
    const r = await runCli(['config', 'import', conf])
    assert.equal(r.code, 0, r.stderr)
    const settings = readFileSync(conf, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).length
    const bridgeLines = 3 // address, topic, restart_timeout: they travel with their connection
    assert.equal(r.stderr.split('\n').filter((l) => l.includes(' → ')).length, settings - bridgeLines, r.stderr) // a listener's line says what the listener became
    for (const re of [
      new RegExp(`:8: listener ${ports.mqtt} 127\\.0\\.0\\.1 → mqttPort: ${ports.mqtt}, host: 127\\.0\\.0\\.1`),
      new RegExp(`listener ${ports.mqtts} 127\\.0\\.0\\.1 → mqttsPort: ${ports.mqtts} \\(MQTT over TLS\\)`),
      /certfile .*server\.crt → tlsCert: /,
      /protocol websockets → MQTT over WebSocket is served on the HTTP port at \/mqtt/,
      /password_file .* → passwordFile: /,
      /acl_file .*family\.acl → copy it into the rules directory/,
      /allow_anonymous false → allowAnonymous: false/,
      /message_size_limit 1000 → maxPayload: 1000/,
      /max_connections 50 → maxConnections: 50/,
      /persistence true → not needed: the hub always keeps retained messages/,
      /log_dest file .* → not needed: the hub logs to standard output/,
      /per_listener_settings false → cannot be honoured/,
      /max_inflight_messages 20 → cannot be honoured/,
      /connection friend → bridge 'friend': copied to the bridge file/,
    ]) assert.match(r.stderr, re)
    assert.match(r.stdout, new RegExp(`^mqttPort: ${ports.mqtt}$`, 'm'))
  })

  test('with --out the hub runs on the result: the same users, rules, limits and bridge', async () => {
    const aclDir = join(root, 'acl')
    const out = join(root, 'hub.yml')
    const r = await runCli(['config', 'import', conf, '--out', out, '--acl-dir', aclDir])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(existsSync(join(aclDir, 'family.acl')))
    assert.match(readFileSync(join(root, 'bridges.conf'), 'utf8'), /^connection friend\naddress 127\.0\.0\.1:1\ntopic owntracks\/# both 1\nrestart_timeout 5 30\n/)
    const check = await runCli(['serve', '--config', out, '--check-config'])
    assert.equal(check.code, 0, check.stderr)
    const hub = await startHub({ aclDir, mqttPort: ports.mqtt, args: ['--config', out] })
    try {
      assert.equal((await pub(hub, 'jane', 'jane-pw')).code, 0, 'the password file')
      const since = hub.logs().length
      const big = await mosquittoPub(['-p', String(ports.mqtt), '-u', 'jane', '-P', 'jane-pw', '-q', '1', '-t', 'owntracks/jane/phone', '-m', 'x'.repeat(2000)])
      assert.equal(big.code, 0)
      await hub.waitForLog(/Dropped too large PUBLISH .*more than max-payload 1000 bytes/, 5000, since)
      await hub.waitForLog(/Bridge friend/, 10_000)
    } finally { await hub.stop() }
  })
})

async function waitListening(port: number, gone: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < 200 && !gone(); i++) {
    const ok = await new Promise<boolean>((r) => { const s = connect(port, '127.0.0.1', () => { s.destroy(); r(true) }); s.on('error', () => r(false)) })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listens on ${port}`)
}
