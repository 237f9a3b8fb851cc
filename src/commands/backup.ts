import { join, resolve } from 'node:path'
import { Level } from 'level'
import { loadConfig } from '../config.js'
import { controlSocketPath } from '../http/control.js'
import { VERSION } from '../hub.js'
import { restoreBackup, takeBackup, type Manifest } from '../ops/backup.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'
import { call } from './hub-link.js'

export const backupSpec: CommandSpec = {
  name: 'backup',
  usage: 'backup DIR',
  summary: 'Writes a consistent backup of the data directory (history, broker state, users) and the rules into DIR, which must be new or empty. While the hub runs, the hub itself takes it (through <data>/control.sock), without stopping; otherwise this command reads the data directly. DIR must be writable by the user the hub runs as. With --postgres URL, a cluster\'s history, users, rules, keys, cards and tours in the same format (restore it, then cluster migrate to move it into a cluster again); Redis keeps its own state (sessions, retained messages).',
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
  if (!p.positionals[0]) throw new UsageError('backup needs a directory to write to: npx owntracks-hub backup DIR')
  const dest = resolve(p.positionals[0])
  if (cfg.postgres) {
    const m = await (await import('./cluster.js')).backupCluster(cfg, dest, say)
    say(`Backup of the cluster done: history ${m.databases.history.keys} keys, files: ${m.files.join(' ') || 'none'}${m.acl.length ? `, rules: ${m.acl.join(' ')}` : ''}. Restore it into a data directory with 'owntracks-hub restore', and move that into a cluster with 'owntracks-hub cluster migrate'.`)
    return
  }
  const m = (await backupByHub(controlSocketPath(cfg.data), dest)) ?? (await offlineBackup(cfg.data, cfg.aclDir, dest))
  say(`Backup done: ${Object.entries(m.databases).map(([n, d]) => `${n} ${d.keys} keys`).join(', ')}, files: ${m.files.join(' ') || 'none'}${m.acl.length ? `, rules: ${m.acl.join(' ')}` : ''}.`)
}

/** Is a hub running on the data? It answers on its control socket. */
async function hubAnswers(socket: string): Promise<boolean> {
  try {
    const res = await call(socket, 'GET', '/api/0/version')
    res.resume()
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return false
    throw new Error(`cannot reach the hub at ${socket}: ${(err as Error).message}`)
  }
}

/** The running hub takes the backup; undefined when no hub runs. */
async function backupByHub(socket: string, dest: string): Promise<Manifest | undefined> {
  if (!(await hubAnswers(socket))) return undefined
  say(`The running hub writes the backup (asked through ${socket}).`)
  const res = await call(socket, 'POST', '/backup', JSON.stringify({ dir: dest }))
  let buf = ''
  for await (const chunk of res) {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl)) as { progress?: string; ok?: boolean; result?: Manifest; error?: string }
      buf = buf.slice(nl + 1)
      if (msg.progress !== undefined) say(msg.progress)
      else if (msg.ok && msg.result) return msg.result
      else throw new Error(msg.error ?? `the hub answered ${res.statusCode}`)
    }
  }
  throw new Error(`the hub answered ${res.statusCode} without a result${buf ? `: ${buf}` : ''}`)
}

/** No hub runs on the data: open the databases ourselves (their locks tell if someone else holds them). */
async function offlineBackup(data: string, aclDir: string, dest: string): Promise<Manifest> {
  const dbs = ['history', 'broker'].map((name) => ({ name, db: new Level<Buffer, Buffer>(join(data, name), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false }) }))
  try {
    for (const d of dbs) {
      await d.db.open().catch((err: Error & { cause?: Error }) => {
        const why = err.cause?.message ?? err.message
        throw new Error(/LOCK/.test(why) ? `${join(data, d.name)} is held by a running hub that does not answer on ${controlSocketPath(data)}` : `cannot open ${join(data, d.name)}: ${why}`)
      })
    }
    return await takeBackup({ dataDir: data, aclDir, databases: dbs, version: VERSION }, dest, say)
  } finally {
    await Promise.all(dbs.map((d) => d.db.close()))
  }
}

export async function restore(p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  if (!p.positionals[0]) throw new UsageError('restore needs the backup directory: npx owntracks-hub restore DIR')
  if (await hubAnswers(controlSocketPath(cfg.data))) throw new Error(`a hub is running on ${cfg.data}: stop it first, then restore`)
  const r = restoreBackup(resolve(p.positionals[0]), cfg.data, cfg.aclDir, p.extra.force === true, say)
  say(`Restored the backup of ${r.manifest.created} (hub ${r.manifest.hub}). Start the hub as usual.`)
}
