import { join, resolve } from 'node:path'
import { Level } from 'level'
import { loadConfig } from '../config.js'
import { NoHubError, callControl } from '../control/client.js'
import { controlPath } from '../control/server.js'
import { VERSION } from '../hub.js'
import { restoreBackup, takeBackup, type Manifest } from '../ops/backup.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'

export const backupSpec: CommandSpec = {
  name: 'backup',
  usage: 'backup DIR',
  summary: 'Writes a consistent backup of the data directory (history, broker state, users) and the rules into DIR, which must be new or empty. While the hub runs, the hub itself takes it (through <data>/control.sock), without stopping; otherwise this command reads the data directly. DIR must be writable by the user the hub runs as.',
  options: [],
}

export const restoreSpec: CommandSpec = {
  name: 'restore',
  usage: 'restore DIR [--force]',
  summary: 'Copies a backup made by \'owntracks-hub backup\' into the data directory (and its rules into the acl directory when that is empty). Stop the hub first. A data directory that is not empty needs --force, which moves its contents into <data>/.before-restore-<time>/ instead of deleting them.',
  options: [],
  extra: { force: { type: 'boolean', help: 'restore over existing data (moved aside, not deleted)' } },
}

const say = (line: string) => console.log(line)

export async function backup(p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  if (!p.positionals[0]) throw new UsageError('backup needs a directory to write to: owntracks-hub backup DIR')
  const dest = resolve(p.positionals[0])
  let m: Manifest
  try {
    m = await callControl(controlPath(cfg.data), 'backup', { dir: dest }, say) as Manifest
  } catch (err) {
    if (!(err instanceof NoHubError)) throw err
    m = await offlineBackup(cfg.data, cfg.aclDir, dest)
  }
  say(`Backup done: ${Object.entries(m.databases).map(([n, d]) => `${n} ${d.keys} keys`).join(', ')}, files: ${m.files.join(' ') || 'none'}${m.acl.length ? `, rules: ${m.acl.join(' ')}` : ''}.`)
}

/** No hub runs on the data: open the databases ourselves (their locks tell if someone else holds them). */
async function offlineBackup(data: string, aclDir: string, dest: string): Promise<Manifest> {
  const dbs = ['history', 'broker'].map((name) => ({ name, db: new Level<Buffer, Buffer>(join(data, name), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false }) }))
  try {
    for (const d of dbs) {
      await d.db.open().catch((err: Error & { cause?: Error }) => {
        const why = err.cause?.message ?? err.message
        throw new Error(/LOCK/.test(why) ? `${join(data, d.name)} is held by a running hub that does not answer on ${controlPath(data)}` : `cannot open ${join(data, d.name)}: ${why}`)
      })
    }
    return await takeBackup({ dataDir: data, aclDir, databases: dbs, version: VERSION }, dest, say)
  } finally {
    await Promise.all(dbs.map((d) => d.db.close()))
  }
}

export async function restore(p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  if (!p.positionals[0]) throw new UsageError('restore needs the backup directory: owntracks-hub restore DIR')
  const running = await callControl(controlPath(cfg.data), 'ping', {}).then(() => true, (err: Error) => {
    if (err instanceof NoHubError) return false
    throw err
  })
  if (running) throw new Error(`a hub is running on ${cfg.data}: stop it first, then restore`)
  const r = restoreBackup(resolve(p.positionals[0]), cfg.data, cfg.aclDir, p.extra.force === true, say)
  say(`Restored the backup of ${r.manifest.created} (hub ${r.manifest.hub}). Start the hub as usual.`)
}
