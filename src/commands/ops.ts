import { loadConfig } from '../config.js'
import { exampleConfig } from '../ops/config-file.js'
import type { CommandSpec, Parsed } from './args.js'

export const healthcheckSpec: CommandSpec = {
  name: 'healthcheck',
  usage: 'healthcheck',
  summary: "Asks the hub on this machine for /healthz (on --http-port) and exits 0 when it answers 200, 1 otherwise: Docker's HEALTHCHECK.",
  options: ['host', 'httpPort'],
}

export const configExampleSpec: CommandSpec = {
  name: 'config example',
  usage: 'config example',
  summary: 'Prints a config file with every key, its help and its default (hub.example.yml is this output).',
  options: [],
}

export async function healthcheck(p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host
  const url = `http://${host}:${cfg.httpPort}/healthz`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
    const body = await res.text()
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body}`)
    console.log(body)
  } catch (err) {
    console.error(`unhealthy: ${(err as Error).message}`)
    process.exitCode = 1
  }
}

export async function configExample(): Promise<void> {
  process.stdout.write(exampleConfig())
}
