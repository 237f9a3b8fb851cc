import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { runCli, startHub, tempDir } from '../helpers/hub.js'

describe('the command line helps a new user', () => {
  test("'npx owntracks-hub --help' runs: the package's bin is executable through its #! line", async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'owntracks-hub', '--help'], { cwd: new URL('../../..', import.meta.url).pathname })
    assert.match(stdout, /^Usage: npx owntracks-hub COMMAND/m)
  })

  test('each command group has its own help: user, tls, acl, import, config', async () => {
    for (const [group, sub] of [['user', 'add NAME'], ['tls', 'init'], ['acl', 'check USER TOPIC'], ['import', 'recorder STORE_DIR'], ['config', 'import MOSQUITTO.CONF']]) {
      const r = await runCli([group, '--help'])
      assert.equal(r.code, 0, group)
      assert.match(r.stdout, new RegExp(`^Commands of 'owntracks-hub ${group}':`), group)
      assert.ok(r.stdout.includes(`npx owntracks-hub ${group} ${sub}`), `${group}: ${r.stdout}`)
      assert.doesNotMatch(r.stdout, /^Usage: npx owntracks-hub COMMAND/m, `${group} prints its own help, not the top-level one`)
    }
  })

  test('hints carry a non-default --data and the ports the hub runs on', async () => {
    const dir = tempDir()
    try {
      const data = join(dir, 'elsewhere')
      const r = await runCli(['tls', 'init', '--data', data, '--http-port', '9083', '--mqtts-port', '9883', '--https-port', '9443'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /MQTT over TLS on 9883 and HTTPS on 9443/)
      assert.match(r.stdout, /http:\/\/\S+:9083\/ca\.crt/)
      assert.match(r.stdout, /-p 9883 /)
      assert.doesNotMatch(r.stdout, /8883|8083|8443/)
      const hub = await startHub({ dataDir: join(dir, 'other-data'), aclDir: join(dir, 'acl') })
      try {
        assert.ok(hub.logs().includes(`change it with 'npx owntracks-hub user passwd admin --data ${join(dir, 'other-data')}'`), hub.logs())
      } finally { await hub.stop() }
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })
})
