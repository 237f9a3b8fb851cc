import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { runCli, startHub, tempDir, waitFor, type RunningHub } from '../helpers/hub.js'
import { mosquittoPub } from '../helpers/mosquitto.js'
import { location } from '../helpers/phone.js'
import { caFile, tlsPorts } from '../helpers/tls.js'
import { createUsers } from '../helpers/users.js'

// The booklet's "Client certificates" page: require_certificate + use_identity_as_username.
describe('client-certificate login: --tls-require-cert --tls-cert-username', () => {
  let hub: RunningHub
  let port: number
  const certs = tempDir('othub-certs-')
  before(async () => {
    const root = tempDir()
    const dataDir = join(root, 'data')
    assert.equal((await runCli(['tls', 'init', '--data', dataDir])).code, 0)
    await createUsers(dataDir, ['jane', 'fred'])
    const issued = await runCli(['tls', 'client', 'jane', '--out', certs, '--data', dataDir])
    assert.equal(issued.code, 0, issued.stderr)
    assert.match(issued.stdout, /openssl pkcs12 -export/)
    assert.equal((await runCli(['tls', 'client', 'fred', '--out', certs, '--data', dataDir])).code, 0)
    hub = await startHub({ dataDir, aclDir: join(root, 'acl'), args: ['--tls-require-cert', '--tls-cert-username'] })
    ;({ mqtts: port } = await tlsPorts(hub))
  })
  after(async () => { await hub?.stop() })

  const withCert = (user: string, ...args: string[]) => mosquittoPub(['--cafile', caFile(hub), '--cert', join(certs, `${user}.crt`), '--key', join(certs, `${user}.key`), '-h', 'localhost', '-p', String(port), ...args])

  test('jane logs in with her certificate and no password; her location is stored as hers', async () => {
    const payload = JSON.stringify(location({ tid: 'jc', lat: 40.4168, lon: -3.7038, tst: 1732456789 }))
    const r = await withCert('jane', '-q', '1', '-t', 'owntracks/jane/phone', '-m', payload)
    assert.equal(r.code, 0, r.stderr)
    assert.match(hub.logs(), /New client connected from 127\.0\.0\.1:\d+ as \S+ \(p2, c1, k60, u'jane'\)/)
    const res = await hub.http('/api/0/last?user=jane', { user: 'jane', password: 'jane-pw' })
    assert.equal((await res.json() as { lat: number }[])[0].lat, 40.4168)
  })

  test("the certificate is the identity: a username in CONNECT does not make jane fred", async () => {
    const since = hub.logs().length
    const r = await withCert('jane', '-u', 'fred', '-t', 'owntracks/fred/phone', '-m', JSON.stringify(location({ tid: 'xx' })))
    assert.equal(r.code, 0)
    await hub.waitForLog(/Denied PUBLISH from \S+ \(d0, q0, r0, m0, 'owntracks\/fred\/phone'/, 5000, since)
  })

  test('without a certificate the TLS handshake is refused, even with the right password', async () => {
    const r = await mosquittoPub(['--cafile', caFile(hub), '-h', 'localhost', '-p', String(port), '-u', 'jane', '-P', 'jane-pw', '-t', 'owntracks/jane/phone', '-m', 'x'])
    assert.notEqual(r.code, 0)
    await hub.waitForLog(/TLS handshake with 127\.0\.0\.1:\d+ on port \d+ failed: .*certificate/i)
  })

  test("a certificate whose user was removed no longer logs in (exit 5)", async () => {
    assert.equal((await runCli(['user', 'del', 'fred', '--data', hub.dataDir])).code, 0)
    await waitFor('fred to be gone', async () => (await withCert('fred', '-t', 'owntracks/fred/phone', '-m', 'x')).code === 5, 3000)
    assert.match(hub.logs(), /not authorised \(client certificate for 'fred', who is not a hub user\)/)
  })

  test('tls client refuses a name that is not a user, and says how to add it', async () => {
    const r = await runCli(['tls', 'client', 'nobody', '--out', certs, '--data', hub.dataDir])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /no user 'nobody'.*owntracks-hub user add nobody/)
  })

  test('the plain port still takes passwords', async () => {
    const r = await mosquittoPub(['-p', String(hub.mqttPort), '-u', 'jane', '-P', 'jane-pw', '-t', 'owntracks/jane/phone', '-m', 'x'])
    assert.equal(r.code, 0, r.stderr)
  })
})
