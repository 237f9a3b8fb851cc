import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AuthThrottle } from '../../src/users/auth-throttle.js'
import { PasswordVerifier, hashPassword } from '../../src/users/passwd.js'

const rates = { perAccount: 30, perAddress: 60 }
const clock = () => { let t = 0; return { now: () => t, pass: (ms: number) => { t += ms } } }

test('an account gets 10 password checks at once, then one every 2 s, whatever the addresses; a throttled right password is not checked', async () => {
  const c = clock()
  const th = new AuthThrottle(rates, c.now)
  let checked = 0
  const check = (ok: boolean) => async () => { checked++; return ok }
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => th.attempt(`10.0.${i}.1`, 'jane', `guess${i}`, check(false))))
  assert.equal(checked, 10, 'of 100 parallel guesses from 100 addresses, 10 were checked')
  assert.equal(results.filter((r) => r === 'throttled').length, 90)
  assert.equal(await th.attempt('10.9.9.9', 'jane', 'right', check(true)), 'throttled', 'the right password while throttled is refused unchecked')
  assert.equal(checked, 10)
  c.pass(2000)
  assert.equal(await th.attempt('10.9.9.9', 'jane', 'right', check(true)), 'ok', 'one more check after 2 s')
  assert.equal(await th.attempt('10.9.9.8', 'jane', 'guess', check(false)), 'wrong', 'the success gave its token back')
  assert.equal(th.retryAfter('10.9.9.8', 'jane'), 2, 'Retry-After says when the next check is due')
})

test("a success gives back only its own tokens: fred's logins never make room for guesses at jane", async () => {
  const c = clock()
  const th = new AuthThrottle(rates, c.now)
  const no = async () => false
  const yes = async () => true
  for (let i = 0; i < 10; i++) assert.equal(await th.attempt('10.0.0.9', 'jane', `g${i}`, no), 'wrong')
  for (let i = 0; i < 5; i++) assert.equal(await th.attempt('10.0.0.9', 'fred', 'fred-pw', yes), 'ok')
  assert.equal(await th.attempt('10.0.0.9', 'jane', 'g10', no), 'throttled')
})

test('an address gets 20 checks at once across all names, then one a second', async () => {
  const c = clock()
  const th = new AuthThrottle(rates, c.now)
  const no = async () => false
  const r = await Promise.all(Array.from({ length: 50 }, (_, i) => th.attempt('10.0.0.7', `user${i}`, 'pw', no)))
  assert.equal(r.filter((x) => x === 'wrong').length, 20)
  c.pass(1000)
  assert.equal(await th.attempt('10.0.0.7', 'other', 'pw', no), 'wrong')
  assert.equal(await th.attempt('10.0.0.7', 'other2', 'pw', no), 'throttled')
})

test("the same user and password already being checked is one check, and an address that logged in before keeps its own budget", async () => {
  const c = clock()
  const th = new AuthThrottle(rates, c.now)
  let checked = 0
  const slow = async () => { checked++; await new Promise((r) => setTimeout(r, 20)); return true }
  const r = await Promise.all(Array.from({ length: 100 }, () => th.attempt('10.0.0.1', 'jane', 'jane-pw', slow)))
  assert.deepEqual(new Set(r), new Set(['ok']))
  assert.equal(checked, 1, 'a phone reconnecting on 100 sockets costs one check')
  // Someone else exhausts jane's account budget from elsewhere: her known address still gets in.
  for (let i = 0; i < 30; i++) await th.attempt(`10.1.0.${i}`, 'jane', `g${i}`, async () => false)
  assert.equal(await th.attempt('10.1.0.99', 'jane', 'jane-pw', async () => true), 'throttled')
  assert.equal(await th.attempt('10.0.0.1', 'jane', 'jane-pw', async () => true), 'ok')
})

test('an unknown user costs a PBKDF2 run like a wrong password (names cannot be told apart by timing)', async () => {
  const hash = await hashPassword('jane-pw', 10000)
  const v = new PasswordVerifier((u) => (u === 'jane' ? hash : undefined))
  const time = async (user: string) => {
    const runs: number[] = []
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now()
      assert.equal(await v.verify(user, `wrong${i}`), false)
      runs.push(performance.now() - t0)
    }
    return runs.sort((a, b) => a - b)[4]
  }
  await time('nobody') // the made-up hash is computed once, on first use
  const known = await time('jane')
  const unknown = await time('nobody')
  const ratio = unknown / known
  assert.ok(ratio > 0.33 && ratio < 3, `an unknown name takes ${unknown.toFixed(2)} ms, a wrong password ${known.toFixed(2)} ms (ratio ${ratio.toFixed(2)})`)
})
