import { existsSync, readFileSync } from 'node:fs'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import type { Config } from '../config.js'
import { pollFiles } from '../watch.js'
import { tlsFiles } from './store.js'

/** Where the listeners' certificate, key and client CA come from: --tls-* options, else <data>/tls. */
export interface TlsSources {
  cert: string
  key: string
  /** Checks client certificates and is served at /ca.crt. */
  ca: string
  /** true when the operator named the files: then a missing file is an error, not "TLS off". */
  configured: boolean
  caConfigured: boolean
}

export function tlsSources(cfg: Pick<Config, 'data' | 'tlsCert' | 'tlsKey' | 'tlsCa'>): TlsSources {
  const own = tlsFiles(cfg.data)
  const ca = { ca: cfg.tlsCa ?? own.caCert, caConfigured: cfg.tlsCa !== undefined }
  if (cfg.tlsCert && cfg.tlsKey) return { cert: cfg.tlsCert, key: cfg.tlsKey, configured: true, ...ca }
  return { cert: own.cert, key: own.key, configured: false, ...ca }
}

/** A certificate file that cannot be used; the message names the file and what to do. */
export class TlsFileError extends Error {}

/**
 * Reads the files into secure-context options and proves they work together (a renewed certificate with
 * the old key does not), so a bad renewal is refused before it reaches a listener.
 */
export function loadSecureOptions(src: TlsSources): SecureContextOptions {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path)
    } catch (err) {
      throw new TlsFileError(`cannot read the ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
  }
  const opts: SecureContextOptions = { cert: read('certificate', src.cert), key: read('private key', src.key) }
  if (src.caConfigured || existsSync(src.ca)) opts.ca = read('CA certificate', src.ca)
  try {
    createSecureContext(opts)
  } catch (err) {
    throw new TlsFileError(`${src.cert} with ${src.key} cannot be used: ${(err as Error).message}${/mismatch/i.test((err as Error).message) ? ' (the key does not belong to the certificate)' : ''}`)
  }
  return opts
}

export const tlsReady = (src: TlsSources): boolean => existsSync(src.cert) && existsSync(src.key)

/** The CA file phones should import, when there is one. */
export const caFileOf = (src: TlsSources): string | undefined => (existsSync(src.ca) ? src.ca : undefined)

/** Calls `onChange` when the certificate, key or CA file appears or changes (renewals, `tls init`). */
export function watchTls(src: TlsSources, onChange: () => void): () => void {
  return pollFiles(() => [src.cert, src.key, src.ca], onChange)
}
