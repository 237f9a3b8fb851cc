import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/hub.js'
import {
  PasswordVerifier, formatPasswdFile, hashPassword, parsePasswdFile, readPasswdFile, verifyPassword, writePasswdFile,
} from '../../src/users/passwd.js'
import { requireTool } from '../helpers/mosquitto.js'
import { run, startMosquitto, type Mosquitto } from '../helpers/mosquitto-broker.js'

const B64 = '[A-Za-z0-9+/]'
const SEVEN = new RegExp(`^\\$7\\$10000\\$${B64}{16}\\$${B64}{86}==$`)

describe('hashPassword / verifyPassword', () => {
  test('writes $7$ with 10000 iterations, a 12-byte salt and a 64-byte hash in padded base64', async () => {
    const h = await hashPassword('s3cret')
    assert.match(h, SEVEN)
    assert.equal(Buffer.from(h.split('$')[3], 'base64').length, 12)
    assert.equal(Buffer.from(h.split('$')[4], 'base64').length, 64)
  })

  test('round trip: the right password verifies, others do not', async () => {
    const h = await hashPassword('correct horse', 1000)
    assert.match(h, /^\$7\$1000\$/)
    assert.equal(await verifyPassword('correct horse', h), true)
    assert.equal(await verifyPassword('correct horsE', h), false)
    assert.equal(await verifyPassword('', h), false)
  })

  test('a fresh salt every time', async () => {
    const [a, b] = await Promise.all([hashPassword('same', 10), hashPassword('same', 10)])
    assert.notEqual(a, b)
  })

  test('non-ASCII passwords are hashed as UTF-8, as mosquitto_passwd does', async () => {
    const h = await hashPassword('päßwörd 🔑', 50)
    assert.equal(await verifyPassword('päßwörd 🔑', h), true)
    assert.equal(await verifyPassword('passwort', h), false)
  })

  test('rejects nonsense iteration counts', async () => {
    await assert.rejects(hashPassword('x', 0), RangeError)
    await assert.rejects(hashPassword('x', 1.5), RangeError)
  })

  test('a $7$ line from mosquitto_passwd 2.0.11 (kept as a fixed vector)', async () => {
    const stored = '$7$101$l6mMrYtAe5lWdsSz$Y3Qp3on+efAgZ7RJVgLtl5qFUsRT6K8SGgZcRKwK1kS2iIdQBMeKmynomxawuhk0hKPFH4y8DPNByLH+nkRJfg=='
    assert.equal(await verifyPassword('secret', stored), true)
    assert.equal(await verifyPassword('Secret', stored), false)
  })

  test('$6$ (Mosquitto ≤ 1.6): SHA-512(password ‖ salt), hand-made vector', async () => {
    const salt = Buffer.from('0123456789ab')
    const hash = createHash('sha512').update(Buffer.concat([Buffer.from('hunter2'), salt])).digest()
    const stored = `$6$${salt.toString('base64')}$${hash.toString('base64')}`
    assert.equal(stored, '$6$MDEyMzQ1Njc4OWFi$' + hash.toString('base64'))
    assert.equal(await verifyPassword('hunter2', stored), true)
    assert.equal(await verifyPassword('hunter3', stored), false)
  })

  test('$6$ line from mosquitto_passwd -H sha512 (kept as a fixed vector)', async () => {
    const stored = '$6$mx2qvLMqM+9EZa7A$ZEQWJf3rl8Ck734nZJ01V1sDC3Sc7U5kvl+O9P0d3H8LnBpPQjq6T0E+Oy10iYlZpqZChTVGfbVoX4Ye3lVaww=='
    assert.equal(await verifyPassword('c', stored), true)
    assert.equal(await verifyPassword('d', stored), false)
  })

  test('unknown or damaged formats never verify', async () => {
    const good = await hashPassword('pw', 10)
    const [, , it, salt, hash] = good.split('$')
    for (const bad of [
      '', 'pw', 'plain:pw', '$5$abc$def', '$2y$10$abcdefghijklmnopqrstuv', `$7$0$${salt}$${hash}`, `$7$x$${salt}$${hash}`,
      `$7$${it}$${salt}`, `$7$${it}$${salt}$${hash}$`, `$7$${it}$${salt.slice(4)}$${hash}`, `$7$${it}$${salt}$${hash.slice(4)}`,
      `$7$${it}$${salt}$${hash.replace(/=+$/, '')}!`, `$6$${salt}`, `7$${it}$${salt}$${hash}`,
    ]) {
      assert.equal(await verifyPassword('pw', bad), false, `accepted ${JSON.stringify(bad)}`)
    }
  })
})

describe('parsePasswdFile / formatPasswdFile', () => {
  test('skips comments and blank lines; reports malformed lines with their number and keeps going', async () => {
    const jane = await hashPassword('j', 10)
    const fred = await hashPassword('f', 10)
    const text = [
      '# owntracks users', '', `jane:${jane}`, 'no colon here', `  fred : ${fred} \r`, ':nobody', 'anna:',
      'bob:$5$abc', `carl:${jane.slice(0, -6)}`, '   ', '',
    ].join('\n')
    const { entries, errors } = parsePasswdFile(text, 'data/passwd')
    assert.deepEqual([...entries], [['jane', jane], ['fred', fred]])
    assert.deepEqual(errors.map((e) => e.line), [4, 6, 7, 8, 9])
    assert.ok(errors.every((e) => e.file === 'data/passwd'))
    assert.match(errors[0].reason, /<user>:<hash>/)
    assert.match(errors[2].reason, /anna/)
    assert.match(errors[3].reason, /unknown hash type/)
  })

  test('a user listed twice: the later line wins, as in Mosquitto, and it is reported', async () => {
    const one = await hashPassword('one', 10)
    const two = await hashPassword('two', 10)
    const { entries, errors } = parsePasswdFile(`u:${one}\nv:${one}\nu:${two}\n`, 'p')
    assert.equal(entries.get('u'), two)
    assert.deepEqual([...entries.keys()], ['v', 'u'])
    assert.equal(errors.length, 1)
    assert.match(errors[0].reason, /line 1/)
  })

  test('format → parse round trip', async () => {
    const m = new Map([['jane', await hashPassword('a', 10)], ['fred smith', await hashPassword('b', 10)]])
    const text = formatPasswdFile(m)
    assert.equal(text.split('\n').length, 3)
    assert.ok(text.endsWith('\n'))
    const back = parsePasswdFile(text, 'x')
    assert.deepEqual(back.errors, [])
    assert.deepEqual([...back.entries], [...m])
  })

  test('refuses names the format cannot hold', () => {
    assert.throws(() => formatPasswdFile(new Map([['a:b', '$7$1$x$y']])), /a:b/)
    assert.throws(() => formatPasswdFile(new Map([['a\nb', '$7$1$x$y']])))
    assert.throws(() => formatPasswdFile(new Map([['', '$7$1$x$y']])))
  })
})

describe('writePasswdFile', () => {
  let dir: string
  before(async () => { dir = tempDir('othub-passwd-') })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  test('writes 0600 via a temp file in the same directory and leaves no temp file behind', async () => {
    const file = join(dir, 'passwd')
    await writeFile(file, 'old:content\n', { mode: 0o644 })
    const m = new Map([['jane', await hashPassword('pw', 10)]])
    await writePasswdFile(file, m)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.deepEqual(await readdir(dir), ['passwd'])
    assert.equal(await readFile(file, 'utf8'), formatPasswdFile(m))
    const back = await readPasswdFile(file)
    assert.deepEqual([...back.entries], [...m])
  })

  test('a write that cannot be formatted leaves the old file untouched', async () => {
    const file = join(dir, 'passwd')
    const before = await readFile(file, 'utf8')
    await assert.rejects(writePasswdFile(file, new Map([['bad:name', 'x']])))
    assert.equal(await readFile(file, 'utf8'), before)
    assert.deepEqual(await readdir(dir), ['passwd'])
  })
})

describe('PasswordVerifier', () => {
  test('unknown users and wrong passwords fail; the right one passes', async () => {
    const hashes = new Map([['jane', await hashPassword('pw', 10)]])
    const v = new PasswordVerifier((u) => hashes.get(u))
    assert.equal(await v.verify('nobody', 'pw'), false)
    assert.equal(await v.verify('jane', 'nope'), false)
    assert.equal(await v.verify('jane', 'pw'), true)
    assert.equal(await v.verify('jane', 'pw'), true)
    assert.equal(await v.verify('jane', 'nope'), false)
  })

  test('a reconnect storm costs one PBKDF2: cached successes are immediate', async () => {
    const hashes = new Map([['jane', await hashPassword('pw', 300_000)]])
    const v = new PasswordVerifier((u) => hashes.get(u))
    let t = performance.now()
    const first = await Promise.all(Array.from({ length: 20 }, () => v.verify('jane', 'pw')))
    const slow = performance.now() - t
    assert.ok(first.every(Boolean))
    t = performance.now()
    for (let i = 0; i < 100; i++) assert.equal(await v.verify('jane', 'pw'), true)
    const fast = performance.now() - t
    assert.ok(fast < slow / 5, `100 cached checks took ${fast.toFixed(1)} ms, one PBKDF2 round ${slow.toFixed(1)} ms`)
  })

  test('changing the password invalidates the cached success', async () => {
    const hashes = new Map([['jane', await hashPassword('old', 10)]])
    const v = new PasswordVerifier((u) => hashes.get(u))
    assert.equal(await v.verify('jane', 'old'), true)
    hashes.set('jane', await hashPassword('new', 10))
    assert.equal(await v.verify('jane', 'old'), false)
    assert.equal(await v.verify('jane', 'new'), true)
    hashes.delete('jane')
    assert.equal(await v.verify('jane', 'new'), false)
  })

  test('stays bounded', async () => {
    const hashes = new Map<string, string>()
    for (let i = 0; i < 30; i++) hashes.set(`u${i}`, await hashPassword(`p${i}`, 1))
    const v = new PasswordVerifier((u) => hashes.get(u), 10)
    for (let i = 0; i < 30; i++) assert.equal(await v.verify(`u${i}`, `p${i}`), true)
    assert.equal(v.size, 10)
  })
})

describe('compatibility with real Mosquitto 2', () => {
  let dir: string
  let broker: Mosquitto | undefined
  before(async () => { dir = tempDir('othub-passwd-mosq-') })
  after(async () => {
    await broker?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  test('a $7$ line written by `mosquitto_passwd -b -c` verifies here', async () => {
    requireTool('mosquitto_passwd')
    const file = join(dir, 'from-mosquitto')
    const r = await run('mosquitto_passwd', ['-b', '-c', file, 'jjolie', 'pä ss:word'])
    assert.equal(r.code, 0, r.stderr)
    const { entries, errors } = await readPasswdFile(file)
    assert.deepEqual(errors, [])
    const stored = entries.get('jjolie')!
    assert.match(stored, /^\$7\$\d+\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/)
    assert.equal(await verifyPassword('pä ss:word', stored), true)
    assert.equal(await verifyPassword('pä ss:word ', stored), false)
  })

  test('a $6$ line written by `mosquitto_passwd -H sha512` verifies here', async () => {
    requireTool('mosquitto_passwd')
    const file = join(dir, 'from-mosquitto-6')
    const r = await run('mosquitto_passwd', ['-H', 'sha512', '-b', '-c', file, 'fred', 'nexus'])
    assert.equal(r.code, 0, r.stderr)
    const stored = (await readPasswdFile(file)).entries.get('fred')!
    assert.match(stored, /^\$6\$/)
    assert.equal(await verifyPassword('nexus', stored), true)
    assert.equal(await verifyPassword('Nexus', stored), false)
  })

  test('a file written here is accepted by a real mosquitto broker', async () => {
    requireTool('mosquitto_pub')
    requireTool('mosquitto_sub')
    const file = join(dir, 'passwd')
    await writePasswdFile(file, new Map([
      ['jane', await hashPassword('jane-pw')],
      ['fred', await hashPassword('fred pw:ü', 101)],
    ]))
    broker = await startMosquitto({ dir, conf: ([port]) => [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${file}`] })
    const p = String(broker.port)

    const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-u', 'jane', '-P', 'jane-pw', '-i', 'jane-phone', '-t', 'owntracks/jane/phone', '-m', 'hello', '-r', '-q', '1'])
    assert.equal(pub.code, 0, `jane could not publish: ${pub.stderr}`)
    const sub = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', p, '-u', 'fred', '-P', 'fred pw:ü', '-i', 'fred-nexus', '-t', 'owntracks/#', '-C', '1', '-W', '5', '-v'])
    assert.equal(sub.code, 0, `fred could not subscribe: ${sub.stderr}`)
    assert.equal(sub.stdout.trim(), 'owntracks/jane/phone hello')

    const wrong = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-u', 'jane', '-P', 'wrong', '-t', 'x', '-m', 'y'])
    assert.equal(wrong.code, 5, 'a wrong password is CONNACK 5, not authorised')
    const unknown = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', p, '-u', 'nobody', '-P', 'jane-pw', '-t', 'x', '-m', 'y'])
    assert.equal(unknown.code, 5)
  })
})
