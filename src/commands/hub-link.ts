import { existsSync } from 'node:fs'
import { request, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { AccessControl } from '../access/access.js'
import type { Config } from '../config.js'
import { controlSocketPath, type ImportLine } from '../http/control.js'
import { formatByName } from '../store/formats/index.js'
import { deviceView, locationsBody, type LocationsQuery } from '../store/viewer-history.js'
import { LevelHistory } from '../store/history-level.js'
import type { HistoryRecord, HistoryStore, WriteCounts } from '../store/types.js'

export interface ImportCounts extends WriteCounts {
  /** Records the hub refused on its own check, by reason (the CLI checks first, so normally none). */
  skipped: Record<string, number>
}

export type ExportQuery = Omit<LocationsQuery, 'fields' | 'limit' | 'format'> & { format: string }

/**
 * The history, reached the only way LevelDB allows: through the running hub's control socket, or,
 * when no hub runs on the data directory, by opening the store directly (a hub started meanwhile
 * then finds it locked and says so). With --postgres, the cluster's history in PostgreSQL.
 */
export interface HubLink {
  /** Said in summaries: "the running hub" or "the history in <dir>". */
  readonly via: string
  writeNew(records: HistoryRecord[]): Promise<ImportCounts>
  /** A `locations` answer in one of the API's formats, over all of the asked range. */
  exportStream(q: ExportQuery): Promise<Readable>
  close(): Promise<void>
}

export async function linkHistory(cfg: Config, opts: { mustExist?: boolean } = {}): Promise<HubLink> {
  // A cluster's history is in PostgreSQL, reached by every node and by this command alike.
  if (cfg.postgres) return (await import('./cluster.js')).clusterLink(cfg)
  const socket = controlSocketPath(cfg.data)
  try {
    const res = await call(socket, 'GET', '/api/0/version')
    res.resume()
    if (res.statusCode === 200) return hubLink(socket)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw new Error(`cannot reach the hub at ${socket}: ${(err as Error).message}`)
  }
  const dir = join(cfg.data, 'history')
  if (opts.mustExist && !existsSync(dir)) throw new Error(`no history in ${cfg.data} (wrong --data?)`)
  let history: LevelHistory
  try {
    history = await LevelHistory.open(dir)
  } catch (err) {
    const e = err as Error & { cause?: Error }
    throw new Error(`cannot open the history in ${dir}: ${e.cause?.message ?? e.message}. If a hub runs on it, it should answer on ${socket}; is it an older version, or another program?`)
  }
  return storeLink(cfg, history, dir)
}

function hubLink(socket: string): HubLink {
  return {
    via: 'the running hub',
    async writeNew(records) {
      const body = records.map((r): string => JSON.stringify({ user: r.user, device: r.device, at: r.at, message: r.message } satisfies ImportLine)).join('\n')
      const res = await call(socket, 'POST', '/import', body)
      const text = await readAll(res)
      if (res.statusCode !== 200) throw new Error(`the hub refused the import (${res.statusCode}): ${text}`)
      return JSON.parse(text) as ImportCounts
    },
    async exportStream(q) {
      const params = new URLSearchParams({ user: q.user, device: q.device, from: String(q.from), to: String(q.to), format: q.format })
      const res = await call(socket, 'GET', `/api/0/locations?${params}`)
      if (res.statusCode !== 200) throw new Error(`the hub answered ${res.statusCode}: ${await readAll(res)}`)
      return res
    },
    async close() {},
  }
}

/** The same answer the hub would give its owner: an admin's view of a device, through the rules in `aclDir`. */
export function exportThroughRules(aclDir: string, topicBase: string, history: HistoryStore, q: ExportQuery): Readable {
  const access = new AccessControl(aclDir, topicBase)
  access.load()
  const view = deviceView(access, { user: null, admin: true, clientId: 'cli' }, q.user, q.device)
  if (!view) throw new Error(`the access rules hide ${q.user}/${q.device}`)
  const format = formatByName(q.format)
  if (!format) throw new Error(`no export format '${q.format}'`) // export.ts checked it
  const { body } = locationsBody(history, view, { ...q, format })
  return Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
}

function storeLink(cfg: Config, history: LevelHistory, dir: string): HubLink {
  return {
    via: `the history in ${dir}`,
    async writeNew(records) { return { ...(await history.writeNew(records)), skipped: {} } },
    async exportStream(q) { return exportThroughRules(cfg.aclDir, cfg.topicBase, history, q) },
    close: () => history.close(),
  }
}

/** One HTTP request to the hub's control socket. */
export function call(socketPath: string, method: string, path: string, body?: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body === undefined ? {} : { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) } }, resolve)
    req.on('error', reject)
    req.end(body)
  })
}

async function readAll(res: IncomingMessage): Promise<string> {
  let s = ''
  for await (const chunk of res) s += chunk
  return s
}
