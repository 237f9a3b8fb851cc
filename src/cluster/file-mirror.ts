import { createHash, randomUUID } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import type pg from 'pg'
import type { Logger } from '../log.js'
import { inTransaction } from '../store/pg-transaction.js'
import type { PgListener } from './pg-listen.js'

/*
 * The hub's shared state files (users with their $7$ hashes, admins, the rules directory: sharing
 * rules, *.acl files and places.yml; payload keys, cards, tours, Web Push keys and subscriptions) kept in PostgreSQL as their exact text, and mirrored into each node's own
 * files. Every part of the hub goes on reading and writing its files as it does embedded (the same
 * parsers, comments kept, `acl show` and the Mosquitto format unchanged); this module carries a change
 * made on any node to all the others:
 *
 *   a local file changes (CLI, map, API, an editor)  →  row in othub_files + NOTIFY othub_files
 *   a NOTIFY from another node                        →  the row, written over the local file (atomically)
 *
 * Local files are polled every 500 ms (like src/watch.ts: renames and network mounts), and each node's
 * own watchers reload from its files within another 500 ms: a change is in force everywhere within about
 * a second. Two nodes changing the same file at the same moment: the later write wins, whole file.
 */
const CHANNEL = 'othub_files'
const sha = (b: Buffer) => createHash('sha1').update(b).digest('hex')

/** A file or a directory (recursively, regular files only) to mirror, under a stable name. */
export interface Mirrored { name: string; path: string; dir?: boolean; mode?: number }

/** The shared files of a hub with these paths: the same names on every node and for the CLI. */
export function sharedFiles(p: { data: string; aclDir: string; passwordFile: string }): Mirrored[] {
  return [
    { name: 'passwd', path: p.passwordFile }, { name: 'admins', path: join(p.data, 'admins') }, { name: 'keys', path: join(p.data, 'keys') },
    { name: 'acl', path: p.aclDir, dir: true, mode: 0o644 },
    { name: 'cards', path: join(p.data, 'cards'), dir: true }, { name: 'tours', path: join(p.data, 'tours'), dir: true },
    // Web Push (alerts/web-push.ts): one key pair for the cluster, so a browser subscribed through one
    // node is reached by whichever node sends the alert; and the browsers' subscriptions.
    { name: 'vapid.json', path: join(p.data, 'vapid.json') }, { name: 'push-subscriptions.json', path: join(p.data, 'push-subscriptions.json') },
  ]
}

interface Known { hash: string | null; sig: string }

export class FileMirror {
  private readonly known = new Map<string, Known>()
  private readonly node = randomUUID()
  private timer?: NodeJS.Timeout
  private busy = false
  private readonly changed: ((name: string) => void)[] = []

  constructor(private readonly pool: pg.Pool, private readonly entries: Mirrored[], private readonly log: Logger) {}

  /** Called with the name of every file another node changed, after it is written here. */
  onChange(fn: (name: string) => void): void { this.changed.push(fn) }

  /**
   * Before the hub reads its files: a cluster that already has state gives it to this node (its files
   * are replaced); the first node of a new cluster gives its files to the cluster.
   */
  async init(listener: PgListener): Promise<{ pulled: number; pushed: number }> {
    listener.on(CHANNEL, (payload) => { void this.remote(payload) })
    listener.onConnect(async () => { await this.pullAll() })
    const { rows } = await this.pool.query<{ n: string }>('select count(*) as n from othub_files')
    if (Number(rows[0].n) > 0) return { pulled: await this.pullAll(true), pushed: 0 }
    const pushed = await this.scan()
    return { pulled: 0, pushed }
  }

  start(): void {
    this.timer = setInterval(() => { void this.scan() }, 500)
    this.timer.unref()
  }

  stop(): void { clearInterval(this.timer) }

  /** For a command run against the cluster: the local files become the cluster's. */
  pullNow(): Promise<number> { return this.pullAll(true) }

  /** For a command run against the cluster: what it changed goes to the cluster; throws when it cannot. */
  pushNow(): Promise<number> { return this.scan(true) }

  /** The cluster's files under one name (e.g. 'acl'), for `acl pull`. */
  async read(prefix: string): Promise<{ name: string; content: Buffer }[]> {
    const { rows } = await this.pool.query<{ name: string; content: Buffer }>(
      "select name, content from othub_files where starts_with(name, $1) and content is not null order by name", [prefix + '/'])
    return rows
  }

  /** The local files now: name → path. */
  private list(): Map<string, { path: string; mode?: number }> {
    const out = new Map<string, { path: string; mode?: number }>()
    for (const e of this.entries) {
      if (!e.dir) { out.set(e.name, { path: e.path, mode: e.mode }); continue }
      const walk = (d: string) => {
        let names: string[]
        try { names = readdirSync(d) } catch { return }
        for (const n of names) {
          // an editor's or our own file being written, not yet the file
          if (n.endsWith('.tmp') || n.endsWith('.new') || n.endsWith('.sync') || n.startsWith('.')) continue
          const p = join(d, n)
          const st = statSync(p, { throwIfNoEntry: false })
          if (st?.isDirectory()) walk(p)
          else if (st?.isFile()) out.set(`${e.name}/${relative(e.path, p)}`, { path: p, mode: e.mode })
        }
      }
      walk(e.path)
    }
    return out
  }

  private pathOf(name: string): { path: string; mode?: number } | undefined {
    for (const e of this.entries) {
      if (!e.dir && e.name === name) return { path: e.path, mode: e.mode }
      if (e.dir && name.startsWith(e.name + '/')) {
        const rel = name.slice(e.name.length + 1)
        if (rel.split('/').some((p) => p === '..' || p === '')) return undefined
        return { path: join(e.path, rel), mode: e.mode }
      }
    }
    return undefined
  }

  /** Pushes local changes; returns how many files went to PostgreSQL. */
  private async scan(strict = false): Promise<number> {
    if (this.busy) return 0
    this.busy = true
    let pushed = 0
    try {
      const now = this.list()
      const names = new Set([...now.keys(), ...[...this.known.keys()].filter((k) => this.known.get(k)!.hash !== null)])
      for (const name of names) {
        const f = now.get(name)
        const st = f ? statSync(f.path, { throwIfNoEntry: false }) : undefined
        const sig = st ? `${st.mtimeMs}:${st.size}:${st.ino}` : '-'
        const k = this.known.get(name)
        if (k && k.sig === sig) continue
        const body = st ? readFileSync(f!.path) : null
        const hash = body ? sha(body) : null
        this.known.set(name, { hash, sig })
        if (k && k.hash === hash) continue
        await this.put(name, body)
        pushed++
      }
    } catch (err) {
      if (strict) throw err
      this.log.error(`Cannot share a change of the hub's files with the cluster: ${(err as Error).message}; retrying`)
      // forget what was seen, so the next scan tries again
      this.known.clear()
    } finally {
      this.busy = false
    }
    return pushed
  }

  private async put(name: string, body: Buffer | null): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query(`insert into othub_files (name, content, origin, updated_at) values ($1, $2, $3, now())
        on conflict (name) do update set content = excluded.content, origin = excluded.origin, updated_at = now()`, [name, body, this.node])
      await c.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ n: this.node, f: name })])
    })
  }

  private async remote(payload: string): Promise<void> {
    const m = JSON.parse(payload) as { n: string; f: string }
    if (m.n === this.node) return
    try {
      const { rows } = await this.pool.query<{ content: Buffer | null }>('select content from othub_files where name = $1', [m.f])
      if (rows.length) this.apply(m.f, rows[0].content)
    } catch (err) {
      this.log.error(`Cannot read ${m.f} from the cluster: ${(err as Error).message}`)
    }
  }

  /** Writes every stored file here (and removes mirrored files the cluster does not have, when `exact`). */
  private async pullAll(exact = false): Promise<number> {
    const { rows } = await this.pool.query<{ name: string; content: Buffer | null }>('select name, content from othub_files')
    let n = 0
    const have = new Set<string>()
    for (const r of rows) { have.add(r.name); if (this.apply(r.name, r.content)) n++ }
    if (exact) for (const name of this.list().keys()) if (!have.has(name)) { if (this.apply(name, null)) n++ }
    return n
  }

  /** Writes one file as the cluster has it; true when the local file changed. */
  private apply(name: string, body: Buffer | null): boolean {
    const at = this.pathOf(name)
    if (!at) { this.log.warn(`Ignoring a shared file of unknown place: ${name}`); return false }
    const hash = body ? sha(body) : null
    const cur = statSync(at.path, { throwIfNoEntry: false })
    const curHash = cur ? sha(readFileSync(at.path)) : null
    if (curHash === hash) {
      this.known.set(name, { hash, sig: cur ? `${cur.mtimeMs}:${cur.size}:${cur.ino}` : '-' })
      return false
    }
    if (body) {
      mkdirSync(dirname(at.path), { recursive: true, mode: 0o700 })
      const tmp = `${at.path}.${process.pid}.sync`
      writeFileSync(tmp, body, { mode: at.mode ?? 0o600 })
      renameSync(tmp, at.path)
    } else {
      rmSync(at.path, { force: true })
    }
    const st = statSync(at.path, { throwIfNoEntry: false })
    this.known.set(name, { hash, sig: st ? `${st.mtimeMs}:${st.size}:${st.ino}` : '-' })
    this.log.info(`Took ${name} from the cluster`)
    for (const fn of this.changed) fn(name)
    return true
  }
}
