import { loadConfig } from '../config.js'
import { Hub } from '../hub.js'
import { createLogger } from '../log.js'
import type { CommandSpec, Parsed } from './args.js'

export const serveSpec: CommandSpec = {
  name: 'serve',
  usage: 'serve [options]',
  summary: 'Runs the hub: the MQTT broker, the location history and the HTTP API.',
  options: ['host', 'mqttPort', 'httpPort', 'mqttsPort', 'allowAnonymous', 'topicBase', 'drainTimeout', 'fsync', 'tileUrl', 'tileAttribution', 'publicUrl'],
}

export async function serve(p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  const log = createLogger(cfg)
  const hub = new Hub(cfg, log)
  try {
    await hub.start()
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }
    const code = e.code ?? e.cause?.code
    if (code === 'EADDRINUSE') log.error(`Cannot listen: ${e.message}. Another program (a Mosquitto?) uses that port; stop it or pick another with --mqtt-port / --http-port.`)
    else if (code === 'LEVEL_DATABASE_NOT_OPEN' || /LOCK/.test(String(e.cause?.message ?? e.message))) log.error(`Cannot open the data in ${cfg.data}: another owntracks-hub seems to run on it (${e.cause?.message ?? e.message}).`)
    else log.error(`Cannot start: ${e.stack ?? e.message}`)
    await hub.stop().catch(() => {})
    process.exitCode = 1
    return
  }
  let stopping = false
  const stop = (sig: string) => {
    if (stopping) return
    stopping = true
    log.info(`${sig} received, stopping: no new connections, finishing writes.`)
    hub.stop().then(() => { log.info('Stopped.'); process.exit(0) }, (err: Error) => { log.error(`Stop failed: ${err.message}`); process.exit(1) })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}
