import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { mosquittoPub, mosquittoSub } from '../helpers/mosquitto.js'
import { client, collect } from '../helpers/phone.js'

describe('the command line', () => {
  test('every command has --help, and a typo is a usage error (exit 2)', async () => {
    const main = await runCli(['--help'])
    assert.equal(main.code, 0)
    for (const cmd of [['serve'], ['user', 'add'], ['user', 'passwd'], ['user', 'del'], ['user', 'list']]) {
      const r = await runCli([...cmd, '--help'])
      assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`)
      assert.match(r.stdout, new RegExp(`^Usage: npx owntracks-hub ${cmd.join(' ')}`))
      assert.match(r.stdout, /--data VALUE .*OTHUB_DATA/)
      assert.match(r.stdout, /--acl-dir VALUE/)
      assert.match(r.stdout, /--config VALUE/)
    }
    assert.match((await runCli(['serve', '--help'])).stdout, /--mqtt-port VALUE .*default 1883; env OTHUB_MQTT_PORT/)
    const typo = await runCli(['serve', '--mqtt-prot', '1'])
    assert.equal(typo.code, 2)
    assert.equal(typo.stderr, "owntracks-hub: 'serve' has no option --mqtt-prot; did you mean --mqtt-port?\nRun 'npx owntracks-hub serve --help' for usage.\n")
    assert.match((await runCli(['serve', '--data'])).stderr, /option --data needs a value/)
    assert.equal((await runCli(['frobnicate'])).code, 2)
  })

  test('user add/list/passwd/del manage a Mosquitto password file; the password can come from a prompt on stdin', async () => {
    const dir = tempDir()
    try {
      const data = join(dir, 'data')
      assert.equal((await runCli(['user', 'add', 'jane', '--data', data], { input: 'secret\n' })).code, 0)
      assert.equal((await runCli(['user', 'add', 'mum', '--password', 'x', '--admin', '--data', data])).code, 0)
      assert.equal((await runCli(['user', 'list', '--data', data])).stdout, 'jane\nmum (admin)\n')
      const passwd = readFileSync(join(data, 'passwd'), 'utf8')
      assert.match(passwd, /^jane:\$7\$\d+\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==\nmum:\$7\$/)
      assert.equal(statSync(join(data, 'passwd')).mode & 0o777, 0o600)
      assert.equal((await runCli(['user', 'passwd', 'nobody', '--password', 'x', '--data', data])).code, 2)
      assert.equal((await runCli(['user', 'del', 'jane', '--data', data])).code, 0)
      assert.equal((await runCli(['user', 'list', '--data', data])).stdout, 'mum (admin)\n')
      const bad = await runCli(['user', 'add', 'a/b', '--password', 'x', '--data', data])
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /invalid user name 'a\/b'/)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })

  test('a broken config file stops the hub with a message naming the key', async () => {
    const dir = tempDir()
    try {
      writeFileSync(join(dir, 'hub.yml'), 'mqttPort: 1883\nhttpport: 8083\n')
      const r = await runCli(['serve', '--config', join(dir, 'hub.yml'), '--data', join(dir, 'data')])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /unknown key 'httpport'/)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })
})

describe('the hub with an existing Mosquitto password file, anonymous clients and JSON logs', () => {
  let hub: RunningHub
  let dir: string
  before(async () => {
    dir = tempDir()
    const pwfile = join(dir, 'mosquitto.passwd')
    const r = spawnSync('mosquitto_passwd', ['-b', '-c', pwfile, 'jjolie', 'pw-from-mosquitto'])
    assert.equal(r.status, 0, 'mosquitto_passwd (Debian package mosquitto) must be installed')
    mkdirSync(join(dir, 'acl'))
    // topic lines before the first `user` are what anonymous clients may do
    writeFileSync(join(dir, 'acl', 'public.acl'), 'topic read public/#\n\nuser jjolie\ntopic owntracks/jjolie/#\n')
    hub = await startHub({ dataDir: join(dir, 'data'), aclDir: join(dir, 'acl'), args: ['--password-file', pwfile, '--allow-anonymous', '--log-format', 'json'] })
  })
  after(async () => { await hub?.stop(); rmSync(dir, { recursive: true, force: true }) })

  test("a user from Mosquitto's own password file logs in unchanged, and no admin is invented", async () => {
    const r = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'jjolie', '-P', 'pw-from-mosquitto', '-t', 'owntracks/jjolie/5s', '-m', '{}'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(existsSync(join(dir, 'data', 'initial-admin-password')), false)
  })

  test('anonymous clients get exactly the anonymous part of the rules', async () => {
    const anon = await client(hub.mqttPort, undefined, undefined)
    const got = collect(anon)
    await anon.subscribeAsync('#', { qos: 0 })
    await mosquittoPub(['-p', String(hub.mqttPort), '-t', 'public/news', '-m', 'anon publish is refused'])
    const r = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'jjolie', '-P', 'pw-from-mosquitto', '-t', 'owntracks/jjolie/5s', '-m', 'private'])
    assert.equal(r.code, 0)
    await new Promise((res) => setTimeout(res, 300))
    assert.deepEqual(got.map((m) => m.topic), [], 'anonymous may not write public/ nor read owntracks/')
    await anon.endAsync()
  })

  test('logs are JSON lines on request', () => {
    const lines = hub.logs().trim().split('\n')
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l)
    assert.ok(lines.some((l) => /"msg":"listening mqtt 127.0.0.1:\d+"/.test(l)))
  })
})

describe('passwords', () => {
  let hub: RunningHub
  // One check a minute after the burst, so no refill lands inside the test however slow the machine.
  before(async () => { hub = await startHub({ args: ['--auth-rate-account', '1'] }) })
  after(async () => { await hub?.stop() })

  test('after 10 wrong passwords for an account the next attempts are refused without checking the password', async () => {
    for (let i = 0; i < 11; i++) {
      const r = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'fred', '-P', `guess${i}`, '-t', 't', '-m', 'x'])
      assert.equal(r.code, 5, 'refused as not authorised, checked or not')
    }
    assert.equal(hub.logs().match(/disconnected, not authorised \(wrong username or password for 'fred'\)/g)?.length, 10)
    assert.match(hub.logs(), /disconnected, not authorised \(too many password checks for 'fred' or from 127\.0\.0\.1; the password was not checked\)/)
    assert.match(hub.logs(), /Refusing logins unchecked: more than 1 password checks a minute for 'fred'/)
  })

  test("changing admin's password removes the initial-admin-password file and the new one works at once", async () => {
    const hint = join(hub.dataDir, 'initial-admin-password')
    assert.ok(existsSync(hint))
    assert.equal((await runCli(['user', 'passwd', 'admin', '--password', 'n3w', '--data', hub.dataDir])).code, 0)
    assert.equal(existsSync(hint), false)
    await waitFor('the new password to work', async () => (await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', 'n3w', '-t', 'x', '-m', 'y'])).code === 0, 8000)
    const sub = await mosquittoSub(['-p', String(hub.mqttPort), '-u', 'admin', '-P', 'n3w', '-t', 'x'])
    await sub.stop()
  })
})
