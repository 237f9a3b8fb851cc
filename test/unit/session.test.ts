import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cookieValue, IDLE_MS, MAX_AGE_MS, sameSecret, SessionStore, sessionCookie } from '../../src/http/session.js'

function store(stamps: Map<string, string>) {
  let now = 1_000_000
  const s = new SessionStore((u) => stamps.get(u), () => now)
  return { s, advance: (ms: number) => { now += ms } }
}

test('a session is found by its cookie value, carries its own CSRF token, and ends on delete', () => {
  const { s } = store(new Map([['fred', 'a']]))
  const { id, session } = s.create('fred')
  assert.notEqual(id, session.csrf)
  assert.equal(s.get(id)?.user, 'fred')
  assert.equal(s.fromCookie(`theme=dark; othub_session=${id}`)?.csrf, session.csrf)
  assert.equal(s.get(id + 'x'), undefined)
  s.delete(id)
  assert.equal(s.get(id), undefined)
})

test('a session unused for a week ends; one in use still ends after 30 days', () => {
  const { s, advance } = store(new Map([['fred', 'a']]))
  const idle = s.create('fred').id
  const busy = s.create('fred').id
  const step = IDLE_MS / 2
  let elapsed = 0
  const tick = () => { advance(step); elapsed += step }
  tick(); tick()
  assert.ok(s.get(busy))
  advance(1)
  assert.equal(s.get(idle), undefined, 'idle for more than a week')
  while (s.get(busy)) tick()
  assert.ok(elapsed > MAX_AGE_MS - step && elapsed <= MAX_AGE_MS + step, `the busy session ended after ${elapsed / 86_400_000} days`)
})

test("a changed password or a removed user ends that user's sessions only", () => {
  const stamps = new Map([['fred', 'a'], ['jane', 'b']])
  const { s } = store(stamps)
  const fred = s.create('fred').id
  const jane = s.create('jane').id
  stamps.set('fred', 'changed')
  assert.equal(s.get(fred), undefined)
  assert.ok(s.get(jane))
  stamps.delete('jane')
  assert.equal(s.get(jane), undefined)
  assert.throws(() => s.create('nobody'), /no user 'nobody'/)
})

test('cookie helpers: attributes, parsing, constant-time comparison', () => {
  assert.equal(sessionCookie('abc', false), 'othub_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000')
  assert.match(sessionCookie('abc', true), /; Secure$/)
  assert.equal(cookieValue('a=1; othub_session=xyz; b=2', 'othub_session'), 'xyz')
  assert.equal(cookieValue('other_othub_session=1', 'othub_session'), undefined)
  assert.equal(cookieValue(undefined, 'othub_session'), undefined)
  assert.equal(sameSecret('token', 'token'), true)
  assert.equal(sameSecret('token', 'tokem'), false)
  assert.equal(sameSecret('tok', 'token'), false)
  assert.equal(sameSecret(undefined, 'token'), false)
})

test("one more sign-in than max-sessions-per-user ends that user's least recently used session, nobody else's", () => {
  let now = 1_000_000
  const s = new SessionStore((u) => (u === 'fred' || u === 'jane' ? 'a' : undefined), () => now, 3)
  const jane = s.create('jane').id
  const fred = [1, 2, 3].map(() => { now += 1000; return s.create('fred').id })
  now += 1000
  assert.ok(s.get(fred[0]), 'using the oldest makes it the most recently used')
  now += 1000
  s.create('fred')
  assert.equal(s.get(fred[1]), undefined, "fred's least recently used session ended")
  assert.ok(s.get(fred[0]) && s.get(fred[2]))
  assert.equal(s.countOf('fred'), 3)
  for (let i = 0; i < 50; i++) s.create('fred')
  assert.equal(s.get(jane)?.user, 'jane')
  assert.equal(s.size, 4)
})
