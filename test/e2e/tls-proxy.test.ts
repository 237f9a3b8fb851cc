import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { runCli, startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { caFile, curl, tlsPorts } from '../helpers/tls.js'

async function hubWithCerts(args: string[]): Promise<{ hub: RunningHub; https: number }> {
  const root = tempDir()
  const dataDir = join(root, 'data')
  assert.equal((await runCli(['tls', 'init', '--data', dataDir])).code, 0)
  const hub = await startHub({ dataDir, aclDir: join(root, 'acl'), args })
  return { hub, https: (await tlsPorts(hub)).https }
}

describe('--https-redirect', () => {
  let hub: RunningHub
  let https: number
  before(async () => { ({ hub, https } = await hubWithCerts(['--https-redirect'])) })
  after(async () => { await hub?.stop() })

  test('plain HTTP is redirected (308, method kept) to the HTTPS port, which answers', async () => {
    const r = await curl(['-u', `admin:${hub.adminPassword}`, `http://127.0.0.1:${hub.httpPort}/api/0/version?x=1`])
    assert.equal(r.status, 308)
    assert.match(r.headers, new RegExp(`location: https://127\\.0\\.0\\.1:${https}/api/0/version\\?x=1`, 'i'))
    const followed = await curl(['--location-trusted', '--cacert', caFile(hub), '-u', `admin:${hub.adminPassword}`, `http://localhost:${hub.httpPort}/api/0/version`])
    assert.equal(followed.status, 200)
    assert.match(followed.body, /"version"/)
  })

  test('/ca.crt and /healthz stay on plain HTTP: a phone needs the CA before it can trust HTTPS', async () => {
    assert.equal((await curl([`http://127.0.0.1:${hub.httpPort}/ca.crt`])).status, 200)
    assert.equal((await curl([`http://127.0.0.1:${hub.httpPort}/healthz`])).status, 200)
  })

  test('X-Forwarded-Proto from an untrusted client changes nothing: still redirected', async () => {
    const r = await curl(['-H', 'X-Forwarded-Proto: https', '-H', 'X-Forwarded-Host: evil.example', `http://127.0.0.1:${hub.httpPort}/api/0/version`])
    assert.equal(r.status, 308)
    assert.match(r.headers, /location: https:\/\/127\.0\.0\.1:/i)
  })

})

describe('--trust-proxy: a reverse proxy on 127.0.0.1 terminates TLS', () => {
  let hub: RunningHub
  before(async () => { ({ hub } = await hubWithCerts(['--https-redirect', '--trust-proxy', '127.0.0.1'])) })
  after(async () => { await hub?.stop() })

  test('X-Forwarded-Proto https from the proxy is believed: served, not redirected', async () => {
    const r = await curl(['-u', `admin:${hub.adminPassword}`, '-H', 'X-Forwarded-Proto: https', `http://127.0.0.1:${hub.httpPort}/api/0/version`])
    assert.equal(r.status, 200)
  })

  test("a plain request through the proxy is sent to the proxy's public HTTPS name", async () => {
    const r = await curl(['-H', 'X-Forwarded-Proto: http', '-H', 'X-Forwarded-Host: hub.example.org', `http://127.0.0.1:${hub.httpPort}/api/0/last`])
    assert.equal(r.status, 308)
    assert.match(r.headers, /location: https:\/\/hub\.example\.org\/api\/0\/last/i)
  })
})
