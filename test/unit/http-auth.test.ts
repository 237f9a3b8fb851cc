import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { HttpAuth, originAllowed } from '../../src/http/auth.js'
import { SessionStore } from '../../src/http/session.js'
import { UserRegistry } from '../../src/users/registry.js'
import { tempDir } from '../helpers/hub.js'

let dir: string
let auth: HttpAuth
before(async () => {
  dir = tempDir('othub-auth-')
  const users = new UserRegistry(join(dir, 'passwd'), join(dir, 'admins'))
  await users.set('fred', 'fred-pw')
  auth = new HttpAuth(users, new SessionStore((u) => users.passwordStamp(u)))
})
after(() => rmSync(dir, { recursive: true, force: true }))

const upgrade = (headers: Record<string, string>) => auth.upgrade({ headers: { host: 'hub:8083', ...headers } } as unknown as IncomingMessage)

test('a WebSocket upgrade (/ws/last) is authenticated like /api: the session cookie or Basic, never from another origin', async () => {
  const { id } = auth.sessions.create('fred')
  assert.deepEqual(await upgrade({ cookie: `othub_session=${id}`, origin: 'http://hub:8083' }), { user: 'fred', admin: false, clientId: 'http:fred' })
  assert.equal(await upgrade({ cookie: `othub_session=${id}`, origin: 'http://hub:9999' }), undefined, 'another port of the same host is another origin')
  assert.equal(await upgrade({ cookie: 'othub_session=forged' }), undefined)
  const basic = 'Basic ' + Buffer.from('fred:fred-pw').toString('base64')
  assert.deepEqual(await upgrade({ authorization: basic }), { user: 'fred', admin: false, clientId: 'ws:fred' })
  assert.equal(await upgrade({ authorization: 'Basic ' + Buffer.from('fred:nope').toString('base64'), cookie: `othub_session=${id}` }), undefined, 'wrong Basic credentials are not rescued by a cookie')
  assert.equal(await upgrade({}), undefined)
})

test('Origin: absent passes; it must name the host the request went to (or the proxy\'s X-Forwarded-Host)', () => {
  const h = (o: Record<string, string>) => (n: string) => o[n]
  assert.equal(originAllowed(h({ host: 'hub:8083' })), true)
  assert.equal(originAllowed(h({ host: 'hub:8083', origin: 'http://hub:8083' })), true)
  assert.equal(originAllowed(h({ host: 'hub:8083', origin: 'https://evil.example' })), false)
  assert.equal(originAllowed(h({ host: 'hub:8083', origin: 'null' })), false)
  assert.equal(originAllowed(h({ host: '127.0.0.1:8083', 'x-forwarded-host': 'example.net', origin: 'https://example.net' })), true)
})
