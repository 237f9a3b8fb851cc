import { hubCommand } from '../cli-hint.js'
import type { Server as HttpServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls'
import type { Config } from '../config.js'
import { closeHttp, listenHttp, type HttpListenOptions } from '../http/server.js'
import type { Logger } from '../log.js'
import type { Broker } from '../mqtt/broker.js'
import { peerOf } from '../mqtt/describe.js'
import { describeCert } from './certs.js'
import { TlsFileError, caFileOf, loadSecureOptions, tlsReady, tlsSources, watchTls, type TlsSources } from './material.js'

export interface TlsListenerDeps {
  cfg: Config
  log: Logger
  broker: Broker
  /** The same app, upgrade router and proxy trust as the plain HTTP port. */
  http: Omit<HttpListenOptions, 'port' | 'host' | 'tls'>
}

/**
 * MQTT over TLS (Mosquitto's `listener 8883` with cafile/certfile/keyfile) and HTTPS, from the same
 * certificate. They start as soon as a certificate exists, at start-up or later when `tls init` writes
 * one, and a renewed certificate replaces the old one in place: open connections keep theirs, new ones
 * get the new one, nobody is disconnected.
 */
export class TlsListeners {
  readonly sources: TlsSources
  mqtts?: AddressInfo
  https?: AddressInfo
  private mqttServer?: TlsServer
  private httpsServer?: HttpServer
  private stopWatch?: () => void
  private starting?: Promise<void>

  constructor(private readonly d: TlsListenerDeps) {
    this.sources = tlsSources(d.cfg)
  }

  /** The CA file to serve at /ca.crt, if any. */
  caFile(): string | undefined { return caFileOf(this.sources) }

  /** Starts the listeners if a certificate is there; an explicitly configured but unusable one fails the start. */
  async start(): Promise<void> {
    const { cfg, log } = this.d
    if (tlsReady(this.sources)) {
      await this.listen(loadSecureOptions(this.sources))
    } else if (this.sources.configured) {
      loadSecureOptions(this.sources) // throws, naming the missing file
    } else {
      log.info(`TLS is off: no certificate in ${this.sources.cert}. Run '${hubCommand('tls init --host <your DNS name>', cfg)}'; MQTT over TLS (port ${cfg.mqttsPort}) and HTTPS (port ${cfg.httpsPort}) start as soon as it exists.`)
    }
    this.stopWatch = watchTls(this.sources, () => this.changed())
  }

  private changed(): void {
    if (!tlsReady(this.sources)) return
    let opts: SecureContextOptions
    try {
      opts = loadSecureOptions(this.sources)
    } catch (err) {
      this.d.log.warn(`${(err as Error).message}; the certificate in use stays (a renewal writing its files is picked up once both are in place)`)
      return
    }
    if (!this.mqttServer) {
      if (!this.starting) this.starting = this.listen(opts).catch((err: Error) => { this.d.log.error(`Cannot start TLS: ${err.message}`) }).finally(() => { this.starting = undefined })
      return
    }
    this.mqttServer.setSecureContext(opts)
    ;(this.httpsServer as unknown as TlsServer | undefined)?.setSecureContext(opts)
    this.d.log.info(`Reloaded the TLS certificate ${this.sources.cert}: ${this.describe(opts)}`)
  }

  private async listen(opts: SecureContextOptions): Promise<void> {
    const { cfg, log, broker } = this.d
    const askCert = cfg.tlsRequireCert || cfg.tlsCertUsername
    if (askCert && !opts.ca) throw new TlsFileError(`--tls-require-cert / --tls-cert-username need a CA to check client certificates: run 'npx owntracks-hub tls init' or give --tls-ca FILE`)
    const mqtt = createServer({ ...opts, requestCert: askCert, rejectUnauthorized: cfg.tlsRequireCert }, (sock) => broker.accept(sock))
    // The client's side of a failed handshake says "unknown CA" or "certificate required"; ours says who it was.
    // By then the TLS socket has let go of its TCP socket, so the peer is noted when the TCP connection arrives.
    const peers = new WeakMap<object, string>()
    mqtt.on('connection', (raw: Socket) => peers.set(raw, peerOf({ conn: raw } as never)))
    mqtt.on('tlsClientError', (err: Error & { reason?: string }, sock) => {
      const raw = (sock as unknown as { _parent?: object })._parent
      log.info(`TLS handshake with ${(raw && peers.get(raw)) ?? peerOf({ conn: sock } as never)} on port ${this.mqtts?.port} failed: ${err.reason ?? err.message}.`)
    })
    this.mqttServer = mqtt
    this.mqtts = await broker.track(mqtt as never, cfg.mqttsPort, cfg.host)
    log.info(`listening mqtts ${this.mqtts.address}:${this.mqtts.port}`)
    const https = await listenHttp({ ...this.d.http, port: cfg.httpsPort, host: cfg.host, tls: { cert: opts.cert, key: opts.key } })
    this.httpsServer = https.server
    this.https = https.address
    log.info(`listening https ${this.https.address}:${this.https.port}`)
    log.info(`TLS certificate ${this.sources.cert}: ${this.describe(opts)}${askCert ? `; client certificates ${cfg.tlsRequireCert ? 'required' : 'accepted'}${cfg.tlsCertUsername ? ', CN = user name' : ''}` : ''}`)
  }

  private describe(opts: SecureContextOptions): string {
    const c = describeCert(String(opts.cert))
    return `${c.subject}, valid until ${c.validTo}, names ${c.names || '(none)'}`
  }

  async close(): Promise<void> {
    this.stopWatch?.()
    await this.starting
    await closeHttp(this.httpsServer)
  }
}
