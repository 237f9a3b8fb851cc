#!/usr/bin/env node
// first: before anything loads mqtt-packet (quiet-debug.ts says why)
import './quiet-debug.js'
import { ConfigError, loadConfig } from './config.js'
import { UsageError, groupHelp, helpText, parseCommand, type CommandSpec } from './commands/args.js'
import { acl, aclSpecs } from './commands/acl.js'
import { exportCmd, exportSpec } from './commands/export.js'
import { importCmd, importSpecs } from './commands/import.js'
import { serve, serveSpec } from './commands/serve.js'
import { tls, tlsSpecs } from './commands/tls.js'
import { user, userSpecs } from './commands/user.js'
import { backup, backupSpec, restore, restoreSpec } from './commands/backup.js'
import { configExample, configExampleSpec, configImport, configImportSpec, healthcheck, healthcheckSpec } from './commands/ops.js'
import { VERSION } from './hub.js'
import { whereCmd, whereSpecs } from './commands/where.js'
import { aclClusterSpecs, clusterSpecs } from './commands/cluster-specs.js'

// The cluster's commands load the PostgreSQL client only when they run.
const clusterCommands = () => import('./commands/cluster.js')
const againstCluster: (p: Parameters<Runner>[0], run: Runner) => Promise<void> = async (p, run) => {
  const cfg = loadConfig(p.flags, process.env)
  if (!cfg.postgres) return run(p)
  return (await clusterCommands()).againstCluster(p, run)
}
const aclCluster = async (sub: string, p: Parameters<Runner>[0]) => (await clusterCommands()).aclCluster(sub, p)
const cluster = async (sub: string, p: Parameters<Runner>[0]) => (await clusterCommands()).cluster(sub, p)

const MAIN_HELP = `owntracks-hub ${VERSION}: one self-hosted service for OwnTracks phones — MQTT broker, location
history, the Recorder's HTTP API and a family map.

Usage: npx owntracks-hub COMMAND [options]   (in the folder where you ran npm install)

Commands:
  serve                     run the hub (npm start runs this with the defaults)
  user add NAME             add a user (--password PW, --admin)
  user passwd NAME          change a password
  user del NAME             remove a user
  user list                 list users
  user key NAME             set the secret NAME's phones encrypt payloads with
  acl show [--user U]       print the access rules in force as a Mosquitto acl_file
  acl check USER TOPIC read|write
                            say whether USER may read/write TOPIC, and which rule decides
  acl import FILE           turn a Mosquitto acl_file into sharing rules (acl/sharing.yml)
  acl push DIR              check DIR's rules and make them a cluster's (--postgres URL)
  acl pull DIR              write a cluster's rules into DIR (--postgres URL)
  import recorder DIR       import an OwnTracks Recorder store (rec/, last/, cards/, waypoints/)
  import gpx FILE           import a GPX track as one device's locations (--user, --device)
  days rebuild              make the day summaries (visits, trips) again from the history
  geocode backfill          ask the geocoder (--geocoder) about every place of the stored history
  export                    write a device's history as gpx, geojson, csv or json
  tls init                  create a CA and server certificate (--host NAME, --ip ADDR)
  tls client USER           issue a client certificate for USER
  tls show                  show the certificates in use
  backup DIR                write a consistent backup (also while the hub runs)
  restore DIR [--force]     put a backup back (hub stopped)
  healthcheck               exit 0 when the local hub answers /healthz (Docker)
  config example            print a config file with every key and its default
  config import FILE        turn a mosquitto.conf into a hub config file (--out hub.yml)
  cluster migrate           copy an embedded hub into a cluster's PostgreSQL (--data, --acl-dir, --postgres)
  cluster export            write a cluster back into an embedded data directory

'user', 'acl', 'import', 'export' and 'backup' given --postgres URL (or OTHUB_POSTGRES) work on the cluster's
users, rules and history.

Run 'npx owntracks-hub COMMAND --help' for a command's options.
`

/** A command that also works on a cluster's shared files (commands/cluster.ts). */
function onCluster(spec: CommandSpec): CommandSpec {
  return { ...spec, options: [...spec.options, 'redis', 'postgres'] }
}

/** Command words → their spec and runner. A group ('user') takes a sub-command word. */
type Runner = (p: ReturnType<typeof parseCommand>) => Promise<void>
const COMMANDS: Record<string, { spec: CommandSpec; run: Runner } | Record<string, { spec: CommandSpec; run: Runner }>> = {
  serve: { spec: serveSpec, run: serve },
  user: Object.fromEntries(Object.entries(userSpecs).map(([sub, spec]) => [sub, { spec: onCluster(spec), run: (p: Parameters<Runner>[0]) => againstCluster(p, (q) => user(sub, q)) }])),
  acl: {
    ...Object.fromEntries(Object.entries(aclSpecs).map(([sub, spec]) => [sub, { spec: onCluster(spec), run: (p: Parameters<Runner>[0]) => againstCluster(p, (q) => acl(sub, q)) }])),
    ...Object.fromEntries(Object.entries(aclClusterSpecs).map(([sub, spec]) => [sub, { spec, run: (p: Parameters<Runner>[0]) => aclCluster(sub, p) }])),
  },
  cluster: Object.fromEntries(Object.entries(clusterSpecs).map(([sub, spec]) => [sub, { spec, run: (p: Parameters<Runner>[0]) => cluster(sub, p) }])),
  import: Object.fromEntries(Object.entries(importSpecs).map(([sub, spec]) => [sub, { spec: onCluster(spec), run: (p: Parameters<Runner>[0]) => importCmd(sub, p) }])),
  export: { spec: onCluster(exportSpec), run: exportCmd },
  tls: Object.fromEntries(Object.entries(tlsSpecs).map(([sub, spec]) => [sub, { spec, run: (p: Parameters<Runner>[0]) => tls(sub, p) }])),
  backup: { spec: onCluster(backupSpec), run: backup },
  restore: { spec: restoreSpec, run: restore },
  healthcheck: { spec: healthcheckSpec, run: healthcheck },
  config: { example: { spec: configExampleSpec, run: configExample }, import: { spec: configImportSpec, run: configImport } },
  days: { rebuild: { spec: whereSpecs['days-rebuild'], run: (p) => whereCmd('days-rebuild', p) } },
  geocode: { backfill: { spec: whereSpecs['geocode-backfill'], run: (p) => whereCmd('geocode-backfill', p) } },
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') { process.stdout.write(MAIN_HELP); return }
  if (cmd === '--version' || cmd === '-v') { console.log(VERSION); return }
  const entry = COMMANDS[cmd]
  if (!entry) throw new UsageError(`unknown command '${cmd}' (known: ${Object.keys(COMMANDS).join(', ')})`)
  let args = rest
  let found = entry as { spec: CommandSpec; run: Runner }
  if (!('spec' in entry)) {
    const sub = rest[0]
    const group = entry as Record<string, { spec: CommandSpec; run: Runner }>
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') { process.stdout.write(groupHelp(cmd, Object.values(group).map((g) => g.spec))); return }
    if (!(sub in group)) throw new UsageError(`unknown command '${cmd} ${sub}' (known: ${Object.keys(group).map((s) => `${cmd} ${s}`).join(', ')})`)
    found = group[sub]
    args = rest.slice(1)
  }
  const parsed = parseCommand(found.spec, args)
  if (parsed.help) { process.stdout.write(helpText(found.spec)); return }
  await found.run(parsed)
}

main(process.argv.slice(2)).catch((err: Error) => {
  if (err instanceof UsageError) console.error(`owntracks-hub: ${err.message}\nRun '${err.help ?? 'npx owntracks-hub --help'}' for usage.`)
  else if (err instanceof ConfigError) console.error(`owntracks-hub: ${err.message}`)
  else console.error(`owntracks-hub: ${err.message}`)
  process.exitCode = err instanceof UsageError ? 2 : 1
})
