#!/usr/bin/env node
import { ConfigError } from './config.js'
import { UsageError, helpText, parseCommand, type CommandSpec } from './commands/args.js'
import { serve, serveSpec } from './commands/serve.js'
import { user, userSpecs } from './commands/user.js'
import { VERSION } from './hub.js'

const MAIN_HELP = `owntracks-hub ${VERSION}: one self-hosted service for OwnTracks phones — MQTT broker, location
history, the Recorder's HTTP API and a family map.

Usage: owntracks-hub COMMAND [options]

Commands:
  serve                     run the hub (npm start runs this with the defaults)
  user add NAME             add a user (--password PW, --admin)
  user passwd NAME          change a password
  user del NAME             remove a user
  user list                 list users

Run 'owntracks-hub COMMAND --help' for a command's options.
`

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') { process.stdout.write(MAIN_HELP); return }
  if (cmd === '--version' || cmd === '-v') { console.log(VERSION); return }
  let spec: CommandSpec
  let run: (p: ReturnType<typeof parseCommand>) => Promise<void>
  let args = rest
  if (cmd === 'serve') { spec = serveSpec; run = serve }
  else if (cmd === 'user') {
    const sub = rest[0]
    if (sub === undefined || sub === '--help' || sub === '-h') { process.stdout.write(MAIN_HELP); return }
    if (!(sub in userSpecs)) throw new UsageError(`unknown command 'user ${sub}' (known: ${Object.keys(userSpecs).map((s) => 'user ' + s).join(', ')})`)
    spec = userSpecs[sub]
    run = (p) => user(sub, p)
    args = rest.slice(1)
  } else {
    throw new UsageError(`unknown command '${cmd}'`)
  }
  const parsed = parseCommand(spec, args)
  if (parsed.help) { process.stdout.write(helpText(spec)); return }
  await run(parsed)
}

main(process.argv.slice(2)).catch((err: Error) => {
  if (err instanceof UsageError) console.error(`owntracks-hub: ${err.message}\nRun 'owntracks-hub --help' for usage.`)
  else if (err instanceof ConfigError) console.error(`owntracks-hub: ${err.message}`)
  else console.error(`owntracks-hub: ${err.message}`)
  process.exitCode = err instanceof UsageError ? 2 : 1
})
