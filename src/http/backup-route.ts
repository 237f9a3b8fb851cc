import type { Hono } from 'hono'
import { takeBackup, type BackupSources } from '../ops/backup.js'
import type { Env } from './auth.js'

/**
 * POST /backup on the control socket (only the data directory's owner reaches it): `{"dir": "/abs/path"}`
 * in; NDJSON out while the running hub writes the backup: `{"progress": "…"}` lines, then
 * `{"ok": true, "result": <manifest>}` or `{"ok": false, "error": "…"}`.
 */
export function backupRoute(app: Hono<Env>, sources: BackupSources): void {
  app.post('/backup', async (c) => {
    const { dir } = await c.req.json<{ dir?: unknown }>()
    if (typeof dir !== 'string' || !dir.startsWith('/')) return c.json({ ok: false, error: "'dir' must be an absolute path" }, 400)
    const enc = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      async start(ctrl) {
        const send = (o: object) => ctrl.enqueue(enc.encode(JSON.stringify(o) + '\n'))
        try {
          send({ ok: true, result: await takeBackup(sources, dir, (progress) => send({ progress })) })
        } catch (err) {
          send({ ok: false, error: (err as Error).message })
        }
        ctrl.close()
      },
    })
    return c.body(body, 200, { 'content-type': 'application/x-ndjson' })
  })
}
