import { createECDH, randomBytes, type ECDH } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decrypt } from 'http_ece'

export interface Received { path: string; headers: IncomingMessage['headers']; body: Buffer }

/** An HTTP server on 127.0.0.1 that records every request; `answer` picks each status (default 201). */
export async function receiver(answer: (n: number) => number = () => 201): Promise<{ url: string; got: Received[]; close(): Promise<void>; server: Server }> {
  const got: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) })
      res.writeHead(answer(got.length)).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, got, server, close: () => new Promise((r) => server.close(() => r())) }
}

/**
 * A browser's side of Web Push (RFC 8291): its P-256 key pair and auth secret, the subscription it would
 * hand to the hub, and decryption of what the push service received for it.
 */
export class TestBrowser {
  readonly ecdh: ECDH = createECDH('prime256v1')
  readonly auth = randomBytes(16).toString('base64url')
  constructor(readonly endpoint: string) { this.ecdh.generateKeys() }
  subscription(label = 'test browser') {
    return { endpoint: this.endpoint, keys: { p256dh: this.ecdh.getPublicKey().toString('base64url'), auth: this.auth }, label }
  }
  open(body: Buffer): Record<string, unknown> {
    return JSON.parse(decrypt(body, { version: 'aes128gcm', privateKey: this.ecdh, authSecret: this.auth }).toString('utf8')) as Record<string, unknown>
  }
}
