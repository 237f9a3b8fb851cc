import { existsSync, readFileSync } from 'node:fs'
import { basename, join, relative, resolve } from 'node:path'
import { AccessControl } from '../access/access.js'
import { formatAclFile, parseAclFile } from '../access/acl-file.js'
import { importAcl } from '../access/acl-import.js'
import { showAcl } from '../access/acl-show.js'
import { addRules, writeAtomic } from '../access/rules-edit.js'
import { formatDuration, isoMinute } from '../access/rules-values.js'
import { loadConfig, type Config } from '../config.js'
import { UserRegistry, validateUserName } from '../users/registry.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'

export const aclSpecs: Record<string, CommandSpec> = {
  show: {
    name: 'acl show', usage: 'acl show [--user U]',
    summary: 'Prints the rules in force (acl/sharing.yml and acl/*.acl, compiled) as a Mosquitto acl_file. Mosquitto makes the same read/write decisions with it; comments mark what only the hub does (precision, history limits, time boxes).',
    options: ['topicBase'], extra: { user: { type: 'string', help: "only this user's rules (and the patterns, which apply to everyone)" } },
  },
  check: {
    name: 'acl check', usage: 'acl check USER TOPIC read|write [--client-id ID]',
    summary: 'Says whether USER may read (receive) or write (publish) TOPIC, and which rule decides. Exit code 0 when allowed, 1 when denied.',
    options: ['topicBase'], extra: { 'client-id': { type: 'string', help: 'the client id, for %c patterns (default: USER)' } },
  },
  import: {
    name: 'acl import', usage: 'acl import FILE [--print]',
    summary: "Turns a Mosquitto acl_file into sharing rules in acl/sharing.yml (comments there are kept). Read grants of other people's device topics become shares; grants of one's own topics are dropped (the hub grants them anyway); every other line stays Mosquitto syntax in acl/<name>.acl. Decisions do not change. A running hub applies the result within 2 seconds.",
    options: ['topicBase'], extra: { print: { type: 'boolean', help: 'print the result instead of writing it' } },
  },
}

function open(cfg: Config): { access: AccessControl; users: UserRegistry } {
  const users = UserRegistry.forData(cfg.data, cfg.passwordFile)
  const access = new AccessControl(cfg.aclDir, cfg.topicBase, undefined, { users })
  if (!access.load()) throw new Error(`${access.lastError}\nFix the file; a running hub keeps the previous rules meanwhile.`)
  return { access, users }
}

export async function acl(sub: string, p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  switch (sub) {
    case 'show': return show(cfg, p)
    case 'check': return check(cfg, p)
    case 'import': return importFile(cfg, p)
  }
}

function show(cfg: Config, p: Parsed): void {
  const { access, users } = open(cfg)
  const t = access.table
  const only = p.extra.user as string | undefined
  if (only !== undefined) validateUserName(only)
  const names = new Set([...users.list().map((u) => u.name), ...(t.rules?.people ?? []), ...t.acl.users.keys(), ...t.admins.keys()])
  process.stdout.write(showAcl(t, { users: [...names].sort(), isAdmin: (u) => users.isAdmin(u), only, source: cfg.aclDir, now: Date.now() }))
}

function check(cfg: Config, p: Parsed): void {
  const [user, topic, want] = p.positionals
  if (!user || !topic || (want !== 'read' && want !== 'write')) throw new UsageError('acl check needs USER TOPIC read|write')
  const { access, users } = open(cfg)
  const who = { user, admin: users.isAdmin(user), clientId: (p.extra['client-id'] as string | undefined) ?? user }
  const d = access.decide(who, topic, want)
  const verb = want === 'read' ? 'read' : 'write'
  console.log(`${d.allowed ? 'allowed' : 'denied'}: ${user} ${d.allowed ? 'may' : 'may not'} ${verb} ${topic}`)
  console.log(`  ${d.allowed ? 'by' : 'because'}: ${d.reason}`)
  if (d.allowed && want === 'read') {
    const v = access.viewSpec(who, topic)
    const h = v.history === true ? 'all history' : v.history === false ? 'live only, no history' : `history of the last ${formatDuration(v.history)}`
    console.log(`  sees: ${v.precision?.kind === 'place' ? 'only which of their places, or away (no coordinates)' : v.precision ? `positions blurred to ${v.precision.text}` : 'exact positions'}; ${h}`)
  }
  if (!d.allowed) process.exitCode = 1
}

function importFile(cfg: Config, p: Parsed): void {
  const file = p.positionals[0]
  if (!file) throw new UsageError('acl import needs the FILE to import')
  const path = resolve(file)
  const rel = relative(cfg.aclDir, path)
  if (!rel.startsWith('..') && !rel.includes('/') && path.endsWith('.acl')) {
    throw new UsageError(`${file} is in ${cfg.aclDir}, where the hub already reads it as is; move it elsewhere and import it from there`)
  }
  const text = readFileSync(path, 'utf8')
  const imported = importAcl(parseAclFile(text, file), cfg.topicBase)
  const { access } = open(cfg)
  const rulesFile = access.rulesFile
  const before = existsSync(rulesFile) ? readFileSync(rulesFile, 'utf8') : ''
  const after = addRules(before, rulesFile, imported.people, imported.shares, `imported from ${basename(path)} on ${isoMinute(Date.now() - (Date.now() % 60000))}`)
  access.check(after) // the result must load: say so now, not in the hub's log
  const keptText = formatAclFile(imported.kept)
  const keptFile = join(cfg.aclDir, basename(path).replace(/\.[^.]*$/, '') + '.acl')
  const keptOut = keptText ? `# Lines of ${basename(path)} that are not sharing rules, kept as Mosquitto syntax by 'owntracks-hub acl import'.\n${keptText}` : ''
  if (p.extra.print) {
    process.stdout.write(`# ${rulesFile}\n${after}`)
    if (keptOut) process.stdout.write(`\n# ${keptFile}\n${keptOut}`)
    return
  }
  if (keptOut && existsSync(keptFile)) throw new Error(`${keptFile} exists; remove or rename it, or use --print and merge by hand`)
  writeAtomic(rulesFile, after)
  if (keptOut) writeAtomic(keptFile, keptOut)
  console.log(`Imported ${file}: ${imported.shares.length} share(s) and ${imported.people.length} people into ${rulesFile}`)
  if (imported.dropped.length) console.log(`  left out ${imported.dropped.length} line(s) granting users their own topics (the hub grants those to everyone): ${imported.dropped.map((r) => `line ${r.source.line}`).join(', ')}`)
  if (keptOut) console.log(`  kept the other lines as Mosquitto syntax in ${keptFile}`)
}
