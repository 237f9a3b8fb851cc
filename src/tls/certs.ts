import { webcrypto, X509Certificate as NodeCertificate } from 'node:crypto'
import type * as X509 from '@peculiar/x509'
import type { SubjectNames } from './names.js'

let lib: typeof X509 | undefined
/**
 * @peculiar/x509, loaded when a certificate is made (tls init, a client certificate), not when the hub
 * starts: it and its dependencies are ~10 MB of a running hub's memory otherwise.
 */
async function x509lib(): Promise<typeof X509> {
  if (!lib) {
    // It finds its algorithms through tsyringe, which needs the Reflect metadata API loaded first.
    await import('reflect-metadata')
    lib = await import('@peculiar/x509')
    lib.cryptoProvider.set(webcrypto as unknown as Crypto)
  }
  return lib
}

/**
 * RSA 2048 / SHA-256, like the OwnTracks generate-CA.sh: every phone, Mosquitto client and browser
 * that the booklet covers accepts it, older Android versions included.
 */
const RSA: RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }

const DAY_MS = 86_400_000
const CA_DAYS = 3650
/** Apple refuses TLS server certificates valid for more than 825 days, even from a CA the user installed. */
export const LEAF_DAYS = 825

/** A certificate and its private key, both PEM. */
export interface KeyPair { cert: string; key: string }

/** The hub's own certificate authority: phones import its certificate once, then trust every certificate it signs. */
export async function createCa(commonName: string): Promise<KeyPair> {
  const x509 = await x509lib()
  const keys = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}, O=owntracks-hub`,
    keys,
    signingAlgorithm: RSA,
    ...validity(CA_DAYS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) }
}

export type LeafKind = 'server' | 'client'

/**
 * A certificate signed by the CA: `server` for the hub's listeners (names go into subjectAltName, which
 * is all that TLS clients check today), `client` for a user's device (the common name is the user).
 */
export async function issueCert(ca: KeyPair, kind: LeafKind, commonName: string, names: SubjectNames = { dns: [], ip: [] }): Promise<KeyPair> {
  const x509 = await x509lib()
  const caCert = new x509.X509Certificate(ca.cert)
  const signingKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), RSA, false, ['sign'])
  const keys = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']) as CryptoKeyPair
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ]
  const sans = [...names.dns.map((value) => ({ type: 'dns' as const, value })), ...names.ip.map((value) => ({ type: 'ip' as const, value }))]
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans))
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${commonName}, O=owntracks-hub`,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: RSA,
    ...validity(LEAF_DAYS),
    extensions,
  })
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) }
}

/** What an operator wants to know about a certificate file, read with Node's own X.509 parser. */
export function describeCert(pem: string): { subject: string; names: string; validTo: string; fingerprint: string } {
  const c = new NodeCertificate(pem)
  return { subject: c.subject.replace(/\n/g, ', '), names: c.subjectAltName ?? '', validTo: c.validTo, fingerprint: c.fingerprint256 }
}

// An hour of slack: a phone whose clock is a little behind must not see a certificate from the future.
const validity = (days: number) => ({ notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + days * DAY_MS) })

async function keyPem(key: CryptoKey): Promise<string> {
  return (await x509lib()).PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n'
}
