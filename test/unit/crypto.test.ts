import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { Ingest } from '../../src/ingest.js'
import { createLogger } from '../../src/log.js'
import { openEncrypted, secretKey } from '../../src/owntracks/crypto.js'
import { Stats } from '../../src/stats.js'
import { LevelHistory } from '../../src/store/history-level.js'
import { tempDir } from '../helpers/hub.js'
import { encryptLikeTheApp } from '../helpers/encrypt.js'

const data = (payload: string) => (JSON.parse(payload) as { data: string }).data
const loc = { _type: 'location', lat: 1.5, lon: 2.5, tst: 1732456789 }

describe('openEncrypted: the apps\' secretbox payloads', () => {
  test('the key is the secret zero-padded to 32 bytes, or its first 32 bytes', () => {
    assert.deepEqual([...secretKey('ab')], [97, 98, ...new Array(30).fill(0)])
    assert.equal(secretKey('x'.repeat(40)).length, 32)
    assert.deepEqual(openEncrypted(data(encryptLikeTheApp('y'.repeat(32), loc)), 'y'.repeat(32) + 'ignored'), { ok: true, message: loc })
  })

  test('UTF-8 secrets', () => {
    assert.deepEqual(openEncrypted(data(encryptLikeTheApp('grüße🔑', loc)), 'grüße🔑'), { ok: true, message: loc })
  })

  test('wrong key, truncated data, and what decrypts to garbage: a reason, never content', () => {
    assert.deepEqual(openEncrypted(data(encryptLikeTheApp('a', loc)), 'b'), { ok: false, reason: 'wrong key (the MAC does not match)' })
    assert.deepEqual(openEncrypted('AAAA', 'a'), { ok: false, reason: 'ciphertext too short (3 bytes, at least 40)' })
    const r = openEncrypted(data(encryptLikeTheApp('a', { _type: 'location', lat: 500, lon: 1, tst: 1 })), 'a')
    assert.equal(r.ok, false)
    assert.match((r as { reason: string }).reason, /^decrypted, but location: lat 500 out of range/)
  })
})

describe('Ingest with a secret: decrypted into history, a wrong key counted', () => {
  test('stores the decrypted location; counts and refuses one that does not open', async () => {
    const history = await LevelHistory.open(tempDir())
    const stats = new Stats()
    const log = createLogger({ logLevel: 'warn', logFormat: 'text' }, new Writable({ write: (_c, _e, cb) => cb() }))
    const ingest = new Ingest(history, 'owntracks', stats, log, (u) => (u === 'jane' ? 's3cret' : undefined))
    assert.deepEqual(await ingest.handle('owntracks/jane/phone', Buffer.from(encryptLikeTheApp('s3cret', loc)), 'test'), { kind: 'stored', type: 'location' })
    assert.deepEqual(await ingest.handle('owntracks/jane/phone', Buffer.from(encryptLikeTheApp('wrong', loc)), 'test'), { kind: 'invalid', reason: 'wrong key (the MAC does not match)' })
    assert.equal(stats.decrypted, 1)
    assert.equal(stats.decryptFailures, 1)
    assert.deepEqual(history.device('jane', 'phone')?.last, loc)
    await history.close()
  })
})
