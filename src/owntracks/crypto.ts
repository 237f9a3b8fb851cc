import { createRequire } from 'node:module'
import { decodePayload } from './decode.js'
import type { OwnTracksMessage } from './types.js'

// tweetnacl loads with the first encrypted payload or key: most hubs never see one.
type Nacl = typeof import('tweetnacl')
let lib: Nacl | undefined
const nacl = (): Nacl => (lib ??= createRequire(import.meta.url)('tweetnacl') as Nacl)

const NONCE = 24 // secretbox's nonce length
const MAC = 16 // secretbox's overhead (its Poly1305 tag)
const KEY = 32 // secretbox's key length

/**
 * The apps' key: the secret's UTF-8 bytes in a zero-filled 32-byte buffer, longer secrets cut at 32
 * bytes (booklet features/encrypt.md). Friends who share a secret can read each other's payloads.
 */
export function secretKey(secret: string): Uint8Array {
  const key = new Uint8Array(KEY)
  key.set(Buffer.from(secret, 'utf8').subarray(0, key.length))
  return key
}

export type Opened = { ok: true; message: OwnTracksMessage } | { ok: false; reason: string }

/**
 * `{"_type":"encrypted","data":…}` → the message inside. `data` is base64(nonce ‖ secretbox), as
 * libsodium's crypto_secretbox_easy writes it and tweetnacl's secretbox.open reads it. A failure says
 * which step failed, never anything about the content.
 */
export function openEncrypted(data: string, secret: string): Opened {
  const raw = Buffer.from(data, 'base64')
  if (raw.length < NONCE + MAC) return { ok: false, reason: `ciphertext too short (${raw.length} bytes, at least ${NONCE + MAC})` }
  const plain = nacl().secretbox.open(raw.subarray(NONCE), raw.subarray(0, NONCE), secretKey(secret))
  if (!plain) return { ok: false, reason: 'wrong key (the MAC does not match)' }
  const inner = decodePayload(Buffer.from(plain))
  if (!inner.ok) return { ok: false, reason: `decrypted, but ${inner.reason}` }
  if (inner.message._type === 'encrypted') return { ok: false, reason: 'decrypted to another encrypted payload' }
  return { ok: true, message: inner.message }
}
