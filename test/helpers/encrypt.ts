import nacl from 'tweetnacl'

/**
 * What the OwnTracks apps do with an encryption key (booklet features/encrypt.md), written out here
 * independently of the hub's code: key = the secret's UTF-8 bytes zero-padded or cut to 32 bytes;
 * payload = {"_type":"encrypted","data": base64(24-byte nonce ‖ crypto_secretbox(json))}.
 */
export function encryptLikeTheApp(secret: string, message: Record<string, unknown>): string {
  const key = new Uint8Array(32)
  const bytes = new TextEncoder().encode(secret)
  key.set(bytes.slice(0, 32))
  const nonce = nacl.randomBytes(24)
  const box = nacl.secretbox(new TextEncoder().encode(JSON.stringify(message)), nonce, key)
  const data = new Uint8Array(nonce.length + box.length)
  data.set(nonce)
  data.set(box, nonce.length)
  return JSON.stringify({ _type: 'encrypted', data: Buffer.from(data).toString('base64') })
}
