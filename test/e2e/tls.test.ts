import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { hostname, networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import mqtt from 'mqtt'
import { runCli, startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { mosquittoPub, mosquittoSub } from '../helpers/mosquitto.js'
import { location } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { caFile, curl, tlsPorts } from '../helpers/tls.js'
import { addUsers } from '../helpers/users.js'

const read = (p: string) => readFileSync(p, 'utf8')

/** The certificate a TLS server presents to a client that asks for `servername`. */
function servedCert(port: number, host: string, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', servername: host, ca }, () => {
      const c = s.getPeerX509Certificate()
      s.end()
      c ? resolve(c) : reject(new Error('no certificate'))
    })
    s.on('error', reject)
  })
}

describe('tls init: a CA and a server certificate for every name the hub is reached by', () => {
  const data = join(tempDir(), 'data')
  let out: string
  before(async () => {
    const r = await runCli(['tls', 'init', '--data', data, '--host', 'home.example.org', '--ip', '203.0.113.7'])
    assert.equal(r.code, 0, r.stderr)
    out = r.stdout
  })

  test('writes ca.crt, ca.key, server.crt, server.key; the keys readable by the owner only', () => {
    for (const f of ['ca.key', 'server.key']) assert.equal(statSync(join(data, 'tls', f)).mode & 0o777, 0o600, f)
    for (const f of ['ca.crt', 'server.crt']) assert.equal(statSync(join(data, 'tls', f)).mode & 0o777, 0o644, f)
    assert.match(out, /Created a CA/)
    assert.match(out, /mosquitto_sub --cafile .*ca\.crt -h home\.example\.org -p 8883/)
  })

  test('the server certificate is signed by the CA and names the given host and address, localhost, 127.0.0.1, ::1, the host name and the LAN addresses', () => {
    const ca = new X509Certificate(read(join(data, 'tls', 'ca.crt')))
    const cert = new X509Certificate(read(join(data, 'tls', 'server.crt')))
    assert.equal(ca.ca, true)
    assert.equal(cert.ca, false)
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the CA')
    for (const h of ['home.example.org', 'localhost', hostname()]) assert.equal(cert.checkHost(h), h, h)
    for (const ip of ['203.0.113.7', '127.0.0.1', '::1']) assert.equal(cert.checkIP(ip), ip, ip)
    const lan = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && !/^fe[89ab]/i.test(a.address))
    for (const a of lan) assert.ok(cert.checkIP(a!.address), `LAN address ${a!.address}`)
    assert.equal(cert.checkHost('evil.example.org'), undefined, 'and nothing else')
    assert.ok(new Date(cert.validTo).getTime() - Date.now() <= 825 * 86_400_000, 'at most 825 days, as iOS demands')
  })

  test('run again: the CA stays (phones keep trusting), the server certificate is new', async () => {
    const caBefore = read(join(data, 'tls', 'ca.crt'))
    const certBefore = read(join(data, 'tls', 'server.crt'))
    const r = await runCli(['tls', 'init', '--data', data, '--host', 'other.example.org'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Kept the CA/)
    assert.equal(read(join(data, 'tls', 'ca.crt')), caBefore)
    assert.notEqual(read(join(data, 'tls', 'server.crt')), certBefore)
    assert.equal(new X509Certificate(read(join(data, 'tls', 'server.crt'))).checkHost('other.example.org'), 'other.example.org')
  })

  test('a bad --host or --ip is refused with what to type instead', async () => {
    const r = await runCli(['tls', 'init', '--data', data, '--ip', 'home.example.org'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--ip 'home\.example\.org' is not an IPv4 or IPv6 address/)
    const h = await runCli(['tls', 'init', '--data', data, '--host', 'bad name!'])
    assert.equal(h.code, 2)
    assert.match(h.stderr, /--host 'bad name!' is not a DNS name/)
  })
})

describe('MQTT over TLS as the booklet tests it: mosquitto_pub --cafile ca.crt', () => {
  let hub: RunningHub
  let port: number
  let https: number
  before(async () => {
    const root = tempDir()
    const dataDir = join(root, 'data')
    assert.equal((await runCli(['tls', 'init', '--data', dataDir])).code, 0)
    hub = await startHub({ dataDir, aclDir: join(root, 'acl') })
    ;({ mqtts: port, https } = await tlsPorts(hub))
    await addUsers(hub, 'jane')
  })
  after(async () => { await hub?.stop() })

  test('-h localhost and -h 127.0.0.1 both verify against ca.crt, and the message arrives', async () => {
    const sub = await mosquittoSub(['--cafile', caFile(hub), '-h', 'localhost', '-p', String(port), '-u', 'admin', '-P', hub.adminPassword, '-v', '-t', 'owntracks/#'])
    try {
      for (const host of ['localhost', '127.0.0.1']) {
        const r = await mosquittoPub(['--cafile', caFile(hub), '-h', host, '-p', String(port), '-u', 'jane', '-P', 'jane-pw', '-t', 'owntracks/jane/phone', '-m', `via ${host}`])
        assert.equal(r.code, 0, `-h ${host}: ${r.stderr}`)
      }
      assert.deepEqual(await sub.waitForLines(2), ['owntracks/jane/phone via localhost', 'owntracks/jane/phone via 127.0.0.1'])
    } finally { await sub.stop() }
  })

  test('with another CA the handshake fails, nothing is published, and the hub says who failed and why', async () => {
    const other = join(tempDir(), 'data')
    assert.equal((await runCli(['tls', 'init', '--data', other])).code, 0)
    const since = hub.logs().length
    const r = await mosquittoPub(['--cafile', join(other, 'tls', 'ca.crt'), '-h', 'localhost', '-p', String(port), '-u', 'jane', '-P', 'jane-pw', '-t', 'owntracks/jane/phone', '-m', 'x'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /certificate verify failed|A TLS error occurred/i)
    await hub.waitForLog(/TLS handshake with 127\.0\.0\.1:\d+ on port \d+ failed: .*unknown ca/i, 5000, since)
  })

  test('a wrong password over TLS is still "not authorised" (exit 5)', async () => {
    const r = await mosquittoPub(['--cafile', caFile(hub), '-h', 'localhost', '-p', String(port), '-u', 'jane', '-P', 'nope', '-t', 'owntracks/jane/phone', '-m', 'x'])
    assert.equal(r.code, 5)
  })

  test('HTTPS: the API and a JSON POST with curl --cacert; /ca.crt on both ports is the CA file', async () => {
    const payload = JSON.stringify(location({ tid: 'ja', lat: 52.52, lon: 13.405, tst: 1732456789 }))
    const pub = await mosquittoPub(['--cafile', caFile(hub), '-h', 'localhost', '-p', String(port), '-q', '1', '-u', 'jane', '-P', 'jane-pw', '-t', 'owntracks/jane/phone', '-m', payload])
    assert.equal(pub.code, 0, pub.stderr)
    const last = await curl(['--cacert', caFile(hub), '-u', 'jane:jane-pw', `https://localhost:${https}/api/0/last`])
    assert.equal(last.code, 0, last.headers)
    assert.equal(last.status, 200)
    assert.equal((JSON.parse(last.body) as { lat: number }[])[0].lat, 52.52)
    const posted = await curl(['--cacert', caFile(hub), '-u', 'jane:jane-pw', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ _type: 'cmd', action: 'reportLocation' }), `https://127.0.0.1:${https}/api/0/cmd?user=jane&device=phone`])
    assert.equal(posted.status, 200, posted.body)
    assert.equal((JSON.parse(posted.body) as { topic: string }).topic, 'owntracks/jane/phone/cmd')
    // a phone in HTTP mode, over TLS as the booklet urges
    const viaPub = JSON.stringify(location({ tid: 'jh', lat: 48.2, lon: 16.37, tst: 1732456800 }))
    const pubRes = await curl(['--cacert', caFile(hub), '-u', 'jane:jane-pw', '-H', 'Content-Type: application/json', '-H', 'X-Limit-U: jane', '-H', 'X-Limit-D: httpphone', '-d', viaPub, `https://localhost:${https}/pub`])
    assert.equal(pubRes.status, 200, pubRes.body)
    assert.ok(Array.isArray(JSON.parse(pubRes.body)), 'the app gets its JSON array back')
    const stored = await curl(['--cacert', caFile(hub), '-u', 'jane:jane-pw', `https://localhost:${https}/api/0/locations?user=jane&device=httpphone&limit=1`])
    assert.equal((JSON.parse(stored.body) as { data: { lat: number }[] }).data[0].lat, 48.2)
    const noAuth = await curl(['--cacert', caFile(hub), `https://localhost:${https}/api/0/last`])
    assert.equal(noAuth.status, 401)
    const wrongCa = await curl([`https://localhost:${https}/api/0/version`])
    assert.notEqual(wrongCa.code, 0, 'curl refuses a certificate it cannot verify')
    for (const url of [`http://127.0.0.1:${hub.httpPort}/ca.crt`, `https://localhost:${https}/ca.crt`]) {
      const ca = await curl(['--cacert', caFile(hub), url])
      assert.equal(ca.status, 200)
      assert.match(ca.headers, /content-type: application\/x-x509-ca-cert/i)
      assert.equal(ca.body, read(caFile(hub)))
    }
  })

  test('MQTT.js over ws:// on the HTTP port and wss:// on the HTTPS port: same users, same access', async () => {
    const ca = read(caFile(hub))
    const opts = { protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 5000 }
    const admin = await Receiver.attach(await mqtt.connectAsync(`ws://127.0.0.1:${hub.httpPort}/mqtt`, { ...opts, username: 'admin', password: hub.adminPassword }), 'admin')
    await admin.subscribe('owntracks/#')
    const jane = await Receiver.attach(await mqtt.connectAsync(`wss://localhost:${https}/mqtt`, { ...opts, username: 'jane', password: 'jane-pw', ca }), 'jane')
    await jane.subscribe('owntracks/#')
    await jane.mqtt.publishAsync('owntracks/jane/tablet', JSON.stringify(location({ tid: 'jt' })), { qos: 1 })
    await admin.mqtt.publishAsync('owntracks/admin/phone', JSON.stringify(location({ tid: 'ad' })), { qos: 1 })
    await Promise.all([admin.settle(), jane.settle()])
    assert.deepEqual(admin.topics().filter((t) => /tablet|admin\/phone/.test(t)).sort(), ['owntracks/admin/phone', 'owntracks/jane/tablet'])
    assert.deepEqual(jane.topics().filter((t) => t.startsWith('owntracks/admin')), [], "jane reads nothing of admin's over wss either")
    assert.match(hub.logs(), /New client connected from 127\.0\.0\.1:\d+ as \S+ \(p2, c1, k60, u'jane'\)/)
    await Promise.all([admin.end(), jane.end()])
    await assert.rejects(mqtt.connectAsync(`ws://127.0.0.1:${hub.httpPort}/mqtt`, { ...opts, username: 'jane', password: 'wrong' }), /Not authorized|not authori[sz]ed/i)
  })

  test('a renewed certificate is served to new connections without a restart, and open connections stay', async () => {
    const ca = read(caFile(hub))
    const c = await mqtt.connectAsync(`mqtts://localhost:${port}`, { protocolVersion: 4, username: 'jane', password: 'jane-pw', ca, reconnectPeriod: 0 })
    let closed = false
    c.on('close', () => { closed = true })
    const since = hub.logs().length
    assert.equal((await runCli(['tls', 'init', '--data', hub.dataDir, '--host', 'renewed.example.org'])).code, 0)
    await hub.waitForLog(/Reloaded the TLS certificate .*renewed\.example\.org/, 5000, since)
    for (const p of [port, https]) assert.equal((await servedCert(p, 'localhost', ca)).checkHost('renewed.example.org'), 'renewed.example.org')
    await c.publishAsync('owntracks/jane/phone', 'still here', { qos: 1 })
    assert.equal(closed, false, 'the connection made before the renewal is still open')
    await c.endAsync()
  })
})

describe('TLS comes up when tls init runs while the hub is running', () => {
  let hub: RunningHub
  before(async () => { hub = await startHub() })
  after(async () => { await hub?.stop() })

  test('no certificate: the hub says how to make one; after tls init it listens, no restart', async () => {
    assert.match(hub.logs(), /TLS is off: no certificate in .*server\.crt\. Run 'npx owntracks-hub tls init --host <your DNS name> --data /)
    assert.equal((await fetch(`http://127.0.0.1:${hub.httpPort}/ca.crt`)).status, 404)
    const since = hub.logs().length
    assert.equal((await runCli(['tls', 'init', '--data', hub.dataDir])).code, 0)
    const { mqtts } = await tlsPorts(hub, since)
    const r = await mosquittoPub(['--cafile', caFile(hub), '-h', 'localhost', '-p', String(mqtts), '-u', 'admin', '-P', hub.adminPassword, '-t', 'owntracks/admin/x', '-m', 'hello'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await fetch(`http://127.0.0.1:${hub.httpPort}/ca.crt`)).status, 200)
  })
})

describe("--tls-cert / --tls-key: a certificate from elsewhere (Let's Encrypt)", () => {
  let hub: RunningHub
  const elsewhere = join(tempDir(), 'le')
  before(async () => {
    assert.equal((await runCli(['tls', 'init', '--data', elsewhere, '--host', 'le.example.org'])).code, 0)
    hub = await startHub({ args: ['--tls-cert', join(elsewhere, 'tls', 'server.crt'), '--tls-key', join(elsewhere, 'tls', 'server.key')] })
  })
  after(async () => { await hub?.stop() })

  test('is served on both TLS ports; no CA of our own, so /ca.crt says why there is none', async () => {
    const { mqtts, https } = await tlsPorts(hub)
    const ca = read(join(elsewhere, 'tls', 'ca.crt'))
    for (const p of [mqtts, https]) assert.equal((await servedCert(p, 'localhost', ca)).checkHost('le.example.org'), 'le.example.org')
    const res = await fetch(`http://127.0.0.1:${hub.httpPort}/ca.crt`)
    assert.equal(res.status, 404)
    assert.match(await res.text(), /public CA such as Let's Encrypt, phones need none/)
  })

  test('a missing file or a lone --tls-cert stops the start with what to fix', async () => {
    const data = join(tempDir(), 'data')
    const missing = await runCli(['serve', '--data', data, '--host', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0', '--tls-cert', '/nonexistent/fullchain.pem', '--tls-key', '/nonexistent/privkey.pem'])
    assert.equal(missing.code, 1)
    assert.match(missing.stdout, /Cannot start: cannot read the certificate \/nonexistent\/fullchain\.pem \(ENOENT\)/)
    const lone = await runCli(['serve', '--data', data, '--tls-cert', '/x.pem'])
    assert.equal(lone.code, 1)
    assert.match(lone.stderr, /--tls-cert and --tls-key go together/)
  })
})
