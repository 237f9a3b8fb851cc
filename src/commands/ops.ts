import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { loadConfig } from '../config.js'
import { exampleConfig } from '../ops/config-file.js'
import { importMosquittoConf, importedYaml } from '../ops/mosquitto-conf.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'

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

export const configImportSpec: CommandSpec = {
  name: 'config import',
  usage: 'config import MOSQUITTO.CONF [--out hub.yml]',
  summary: "Turns a mosquitto.conf (and its include_dir) into a hub config file, with a line per setting saying what it became or why the hub cannot honour it. Without --out the config goes to standard output and nothing is written; with --out it is written there, its bridges to bridges.conf beside it and its acl_files into --acl-dir.",
  options: [],
  extra: {
    out: { type: 'string', short: 'o', help: 'write the config file here (and bridges.conf beside it, acl files into --acl-dir)' },
  },
}

export async function configImport(p: Parsed): Promise<void> {
  const source = p.positionals[0]
  if (!source) throw new UsageError('config import needs the mosquitto.conf to read, e.g. npx owntracks-hub config import /etc/mosquitto/mosquitto.conf')
  const cfg = loadConfig({ ...p.flags, config: undefined }, {})
  const r = importMosquittoConf(source)
  const out = p.extra.out as string | undefined
  const bridgeFile = r.bridges.length && out ? join(dirname(resolve(out)), 'bridges.conf') : undefined
  const yaml = importedYaml(r, resolve(source), bridgeFile)
  for (const line of r.report) process.stderr.write(line + '\n')
  if (!out) {
    process.stdout.write(yaml)
    if (r.bridges.length) process.stderr.write(`${r.bridges.length} bridge(s) not written: give --out to write them to bridges.conf beside the config file.\n`)
    if (r.aclFiles.length) process.stderr.write(`acl file(s) not copied: give --out to copy them into ${cfg.aclDir}.\n`)
    return
  }
  writeFileSync(out, yaml)
  process.stderr.write(`Wrote ${resolve(out)}.\n`)
  if (bridgeFile) {
    writeFileSync(bridgeFile, r.bridges.join('\n\n') + '\n', { mode: 0o600 }) // remote passwords
    process.stderr.write(`Wrote ${r.bridges.length} bridge(s) to ${bridgeFile}.\n`)
  }
  for (const acl of r.aclFiles) {
    mkdirSync(cfg.aclDir, { recursive: true })
    let target = join(cfg.aclDir, `${basename(acl).replace(/\.acl$/, '')}.acl`)
    if (existsSync(target)) target = join(cfg.aclDir, `mosquitto-${Date.now()}.acl`)
    copyFileSync(acl, target)
    process.stderr.write(`Copied ${acl} to ${target} (read as a Mosquitto acl_file).\n`)
  }
  process.stderr.write(`Start the hub with: npx owntracks-hub serve --config ${out}${r.aclFiles.length ? ` --acl-dir ${cfg.aclDir}` : ''}\n`)
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
