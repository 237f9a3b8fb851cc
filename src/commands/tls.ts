import { existsSync, readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { loadConfig } from '../config.js'
import { describeCert } from '../tls/certs.js'
import { tlsSources } from '../tls/material.js'
import { NameError, serverNames } from '../tls/names.js'
import { initTls, issueClientCert, tlsFiles } from '../tls/store.js'
import { UserRegistry, validateUserName } from '../users/registry.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'

export const tlsSpecs: Record<string, CommandSpec> = {
  init: {
    name: 'tls init',
    usage: 'tls init [--host NAME]... [--ip ADDR]...',
    summary: 'Creates a CA (once) and a server certificate under <data>/tls for MQTT over TLS and HTTPS. The certificate names the given hosts and addresses plus localhost, 127.0.0.1, ::1, this machine\'s host name and addresses. Run it again to renew or to add a name: the CA stays, so phones keep trusting the hub, and a running hub switches to the new certificate within a second.',
    // The hub's ports, for the lines printed at the end (also read from --config and OTHUB_*).
    options: ['httpPort', 'mqttsPort', 'httpsPort'],
    extra: {
      host: { type: 'string', multiple: true, help: 'a DNS name phones use to reach the hub (repeatable), e.g. home.example.org' },
      ip: { type: 'string', multiple: true, help: 'an IP address phones use to reach the hub (repeatable), e.g. your public address' },
    },
  },
  client: {
    name: 'tls client',
    usage: 'tls client USER [--out DIR]',
    summary: "Issues a client certificate for USER, signed by the hub's CA, as USER.crt and USER.key (the booklet's 'generate-CA.sh client USER'). With --tls-cert-username the hub logs the device in as USER without a password.",
    options: [],
    extra: { out: { type: 'string', help: 'directory for USER.crt and USER.key (default: the current one)' } },
  },
  show: {
    name: 'tls show',
    usage: 'tls show',
    summary: 'Shows the certificate the hub serves and the CA phones import: names, expiry, fingerprints.',
    options: ['tlsCert', 'tlsKey', 'tlsCa'],
  },
}

export async function tls(sub: string, p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  switch (sub) {
    case 'init': {
      let names
      try {
        names = serverNames((p.extra.host as string[] | undefined) ?? [], (p.extra.ip as string[] | undefined) ?? [])
      } catch (err) {
        if (err instanceof NameError) throw new UsageError(err.message)
        throw err
      }
      const { files, createdCa } = await initTls(cfg.data, names)
      const server = describeCert(readFileSync(files.cert, 'utf8'))
      // What a phone on the network would type: a given name, else this machine's first LAN address.
      const host = (p.extra.host as string[] | undefined)?.[0] ?? names.ip.find((a) => isIP(a) === 4 && a !== '127.0.0.1') ?? 'localhost'
      console.log(createdCa ? `Created a CA: ${files.caCert} (its key ${files.caKey} never leaves this machine).` : `Kept the CA ${files.caCert}: phones that imported it keep trusting the hub.`)
      console.log(`Server certificate ${files.cert}, valid until ${server.validTo}, for:\n  ${server.names}`)
      console.log(`\nA running hub switches to it within a second; a hub started now listens for MQTT over TLS on ${cfg.mqttsPort} and HTTPS on ${cfg.httpsPort}.`)
      console.log(`Phones: open http://${host}:${cfg.httpPort}/ca.crt on the phone and install it (iOS: then trust it under Settings > General > About > Certificate Trust Settings).`)
      console.log(`Test:   mosquitto_sub --cafile ${files.caCert} -h ${host} -p ${cfg.mqttsPort} -u USER -P PASSWORD -v -t 'owntracks/#'`)
      return
    }
    case 'client': {
      const user = p.positionals[0]
      if (!user) throw new UsageError('tls client needs a USER')
      validateUserName(user)
      if (!UserRegistry.forData(cfg.data, cfg.passwordFile).has(user)) {
        throw new UsageError(`no user '${user}' in ${cfg.passwordFile}: add it first with 'npx owntracks-hub user add ${user}' (a certificate logs in as that user)`)
      }
      const out = await issueClientCert(cfg.data, user, (p.extra.out as string | undefined) ?? '.')
      console.log(`Wrote ${out.cert} and ${out.key} (CN=${user}), signed by ${tlsFiles(cfg.data).caCert}.`)
      console.log(`For the OwnTracks app, pack them with a passphrase: openssl pkcs12 -export -in ${out.cert} -inkey ${out.key} -name '${user}' -out ${user}.p12`)
      console.log(`Try:  mosquitto_sub --cafile ${tlsFiles(cfg.data).caCert} --cert ${out.cert} --key ${out.key} -h localhost -p ${cfg.mqttsPort} -v -t 'owntracks/${user}/#'`)
      return
    }
    case 'show': {
      const src = tlsSources(cfg)
      for (const [what, file] of [['Server certificate', src.cert], ['CA', src.ca]] as const) {
        if (!existsSync(file)) { console.log(`${what}: none (${file} does not exist)`); continue }
        const c = describeCert(readFileSync(file, 'utf8'))
        console.log(`${what} ${file}\n  subject  ${c.subject}\n  names    ${c.names || '(none)'}\n  expires  ${c.validTo}\n  sha256   ${c.fingerprint}`)
      }
      return
    }
  }
}
