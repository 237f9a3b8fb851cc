import { ConfigError, loadConfig } from '../config.js'
import { TlsFileError } from '../tls/material.js'
import { Hub } from '../hub.js'
import { createLogger } from '../log.js'
import { describeConfig } from '../ops/config-file.js'
import type { CommandSpec, Parsed } from './args.js'

export const serveSpec: CommandSpec = {
  name: 'serve',
  usage: 'serve [options]',
  summary: 'Runs the hub: the MQTT broker, the location history and the HTTP API.',
  options: ['host', 'mqttPort', 'httpPort', 'mqttsPort', 'allowAnonymous', 'topicBase', 'drainTimeout', 'fsync', 'docroot', 'docrootCsp', 'corsOrigin', 'retentionDays',
    'httpsPort', 'tlsCert', 'tlsKey', 'tlsCa', 'tlsRequireCert', 'tlsCertUsername', 'httpsRedirect', 'trustProxy', 'bridgeFile',
    'maxConnections', 'maxPayload', 'publishRate', 'maxQueuedBytes', 'authRateAccount', 'authRateAddress', 'connectTimeout', 'maxConnectBytes', 'maxPending', 'maxPendingPerAddress', 'maxHttpPerAddress', 'maxBody', 'maxSessionsPerUser', 'maxDevicesPerUser', 'sysInterval', 'metricsPublic', 'stopTimeout', 'tileUrl', 'tileAttribution', 'publicUrl', 'geocoder', 'geocoderRate', 'redis', 'postgres', 'pushHttp', 'homeassistantUser'],
  extra: { 'check-config': { type: 'boolean', help: 'check the configuration (flags, environment, config file), print the settings and exit: 0 when valid, 1 naming the bad key' } },
}

export async function serve(p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  if (p.extra['check-config']) {
    process.stdout.write(`Configuration OK${cfg.config ? ` (${cfg.config})` : ''}:\n${describeConfig(cfg)}`)
    return
  }
  const log = createLogger(cfg)
  const hub = new Hub(cfg, log)
  try {
    await hub.start()
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }
    const code = e.code ?? e.cause?.code
    if (err instanceof ConfigError || err instanceof TlsFileError) log.error(`Cannot start: ${e.message}`)
    else if (code === 'EADDRINUSE') log.error(`Cannot listen: ${e.message}. Another program (a Mosquitto?) uses that port; stop it or pick another with --mqtt-port / --http-port / --mqtts-port / --https-port.`)
    else if (code === 'LEVEL_DATABASE_NOT_OPEN' || /LOCK/.test(String(e.cause?.message ?? e.message))) log.error(`Cannot open the data in ${cfg.data}: another owntracks-hub seems to run on it (${e.cause?.message ?? e.message}).`)
    else log.error(`Cannot start: ${e.stack ?? e.message}`)
    await hub.stop().catch(() => {})
    process.exitCode = 1
    return
  }
  let stopping = false
  const stop = (sig: string) => {
    if (stopping) {
      log.warn(`${sig} received again: exiting now, without waiting for the stop to finish.`)
      process.exit(1)
    }
    stopping = true
    log.info(`${sig} received, stopping: no new connections, finishing writes.`)
    // A stop that hangs must not hang a container or a service manager forever.
    setTimeout(() => {
      log.error(`The stop has taken ${Math.round((cfg.stopTimeout + 20_000) / 1000)} s, waiting for: ${hub.stopStep}; exiting now.`)
      process.exit(1)
    }, cfg.stopTimeout + 20_000).unref()
    hub.stop().then(() => { log.info('Stopped.'); process.exit(0) }, (err: Error) => { log.error(`Stop failed: ${err.message}`); process.exit(1) })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
