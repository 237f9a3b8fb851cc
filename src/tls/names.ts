import { isIP } from 'node:net'
import { hostname, networkInterfaces } from 'node:os'

/** The names a server certificate is valid for (subjectAltName: DNS names and IP addresses). */
export interface SubjectNames { dns: string[]; ip: string[] }

/** A --host or --ip value the certificate cannot carry; the message says what would be accepted. */
export class NameError extends Error {}

const DNS_NAME = /^(?:\*\.)?(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i

/**
 * What `tls init` puts into the server certificate, like the OwnTracks generate-CA.sh: the names and
 * addresses asked for, then localhost, 127.0.0.1 and ::1, the machine's host name and every address of
 * its network interfaces, so a phone on the home network can use whichever it knows. IPv6 link-local
 * addresses are left out: they only work with an interface suffix, which no certificate can name.
 */
export function serverNames(hosts: string[], ips: string[]): SubjectNames {
  for (const h of hosts) {
    if (isIP(h)) throw new NameError(`--host ${h} is an IP address: give it with --ip ${h}`)
    if (!DNS_NAME.test(h)) throw new NameError(`--host '${h}' is not a DNS name: use letters, digits, '-' and '.', e.g. --host home.example.org`)
  }
  for (const a of ips) if (!isIP(a)) throw new NameError(`--ip '${a}' is not an IPv4 or IPv6 address, e.g. --ip 192.168.1.10`)
  const dns = [...hosts.map((h) => h.toLowerCase()), 'localhost']
  const host = hostname().toLowerCase()
  if (DNS_NAME.test(host)) dns.push(host)
  const ip = [...ips, '127.0.0.1', '::1']
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === 'IPv6' && /^fe[89ab]/i.test(a.address))) continue
      ip.push(a.address)
    }
  }
  return { dns: [...new Set(dns)], ip: [...new Set(ip)] }
}
