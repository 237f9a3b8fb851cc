import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { createCa, issueCert, type KeyPair } from './certs.js'
import type { SubjectNames } from './names.js'

/**
 * `<data>/tls`, as `tls init` leaves it (the names of the OwnTracks generate-CA.sh):
 *   ca.crt      the CA certificate: public, served at /ca.crt for phones to import
 *   ca.key      the CA's private key (0600): whoever has it can impersonate the hub
 *   server.crt  the listeners' certificate, signed by ca.key
 *   server.key  its private key (0600)
 */
export interface TlsFiles { dir: string; caCert: string; caKey: string; cert: string; key: string }

export function tlsFiles(dataDir: string): TlsFiles {
  const dir = join(dataDir, 'tls')
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') }
}

/**
 * Creates the CA unless there is one, then (re)issues the server certificate for `names`. Keeping the CA
 * means phones that imported ca.crt keep trusting the hub after a renewal or a change of names.
 */
export async function initTls(dataDir: string, names: SubjectNames): Promise<{ files: TlsFiles; createdCa: boolean }> {
  const files = tlsFiles(dataDir)
  mkdirSync(files.dir, { recursive: true, mode: 0o700 })
  let ca: KeyPair
  const createdCa = !existsSync(files.caCert) || !existsSync(files.caKey)
  if (createdCa) {
    ca = await createCa(`owntracks-hub CA ${hostname()}`)
    writeAtomic(files.caKey, ca.key, 0o600)
    writeAtomic(files.caCert, ca.cert, 0o644)
  } else {
    ca = readCa(files)
  }
  const server = await issueCert(ca, 'server', names.dns[0] ?? 'localhost', names)
  // Key first: a hub watching the files reloads once both match, and never pairs a new certificate with an old key for long.
  writeAtomic(files.key, server.key, 0o600)
  writeAtomic(files.cert, server.cert, 0o644)
  return { files, createdCa }
}

/** A client certificate for `user`, signed by the hub's CA, written as <outDir>/<user>.crt and .key. */
export async function issueClientCert(dataDir: string, user: string, outDir: string): Promise<{ cert: string; key: string }> {
  const files = tlsFiles(dataDir)
  if (!existsSync(files.caCert) || !existsSync(files.caKey)) {
    throw new Error(`no CA in ${files.dir}: run 'npx owntracks-hub tls init' first`)
  }
  const pair = await issueCert(readCa(files), 'client', user)
  mkdirSync(outDir, { recursive: true })
  const out = { cert: join(outDir, `${user}.crt`), key: join(outDir, `${user}.key`) }
  writeAtomic(out.key, pair.key, 0o600)
  writeAtomic(out.cert, pair.cert, 0o644)
  return out
}

function readCa(files: TlsFiles): KeyPair {
  return { cert: readFileSync(files.caCert, 'utf8'), key: readFileSync(files.caKey, 'utf8') }
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp`
  writeFileSync(tmp, text, { mode })
  chmodSync(tmp, mode) // a leftover .tmp keeps its old mode otherwise
  renameSync(tmp, path)
}
