import { readFile } from 'node:fs/promises'
import type { Handler } from 'hono'
import { HttpError } from './errors.js'

/**
 * GET /ca.crt: the CA certificate for phones to import (iOS and Android offer to install a download of
 * this type). Public on purpose: it is a certificate, not a secret, and is needed before a phone can
 * trust anything else the hub serves.
 */
export function caCertificate(file: () => string | undefined): Handler {
  return async (c) => {
    const path = file()
    if (!path) throw new HttpError(404, "No CA here: run 'npx owntracks-hub tls init' on the hub (with --tls-cert from a public CA such as Let's Encrypt, phones need none).", { plain: true })
    return c.body(await readFile(path), 200, {
      'content-type': 'application/x-x509-ca-cert',
      'content-disposition': 'attachment; filename="owntracks-hub-ca.crt"',
    })
  }
}
