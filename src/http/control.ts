import { chmodSync, existsSync, unlinkSync } from 'node:fs'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import type { Identity } from '../access/access.js'
import { importRecord, isSkipped } from '../store/import-record.js'
import type { HistoryRecord } from '../store/types.js'
import { errorHandler } from './app.js'
import type { Env } from './auth.js'
import { recorderApi, type RecorderApiDeps } from './recorder-api.js'

/** Whoever can open the socket owns the data directory, and acts as an admin. */
const OWNER: Identity = { user: null, admin: true, clientId: 'control' }

/** Unix socket paths are limited to about 107 bytes. */
const MAX_PATH = 100

export const controlSocketPath = (data: string): string => join(data, 'control.sock')

/** One line of a POST /import body. */
export interface ImportLine { user: string; device: string; at?: number; message: Record<string, unknown> }

export interface Control { close(): Promise<void> }

/**
 * The local control endpoint: HTTP on `<data>/control.sock` (mode 0600), so `import` and `export`
 * work while the hub runs — LevelDB lets only one process open the history, so they talk to the hub
 * instead. It serves the Recorder API as an admin, and POST /import: NDJSON lines of ImportLine,
 * checked again here like any other input, answered with `{added, present, skipped}`.
 */
export async function startControl(data: string, d: RecorderApiDeps, extend?: (app: Hono<Env>) => void): Promise<Control | undefined> {
  const path = controlSocketPath(data)
  if (Buffer.byteLength(path) > MAX_PATH) {
    d.log.warn(`No control socket: ${path} is too long for a Unix socket; 'import' and 'export' will need the hub stopped.`)
    return undefined
  }
  const app = new Hono<Env>()
  app.use('*', async (c, next) => { c.set('who', OWNER); await next() })
  app.route('/api/0', recorderApi(d))
  app.post('/import', async (c) => {
    const records: HistoryRecord[] = []
    const skipped: Record<string, number> = {}
    for (const line of (await c.req.text()).split('\n')) {
      if (line.trim() === '') continue
      let r: ReturnType<typeof importRecord>
      try {
        const l = JSON.parse(line) as ImportLine
        r = importRecord(String(l.user), String(l.device), l.message, d.base, typeof l.at === 'number' ? l.at : undefined)
      } catch {
        r = { skip: 'not an import line' }
      }
      if (isSkipped(r)) skipped[r.skip] = (skipped[r.skip] ?? 0) + 1
      else records.push(r)
    }
    return c.json({ ...(await d.history.writeNew(records)), skipped })
  })
  extend?.(app) // more owner-only endpoints: POST /backup (ops)
  app.onError(errorHandler(d.log))

  // The hub holds the history's lock, so a socket file left here is from a hub that died.
  if (existsSync(path)) unlinkSync(path)
  const server = createAdaptorServer({ fetch: app.fetch }) as Server
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.once('listening', () => { server.off('error', reject); resolve() })
  })
  // Born 0600, so there is no moment when others could connect: a pipe binds inside listen().
  const umask = process.umask(0o177)
  try { server.listen(path) } finally { process.umask(umask) }
  await listening
  chmodSync(path, 0o600)
  return {
    async close() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      if (existsSync(path)) unlinkSync(path)
    },
  }
}
