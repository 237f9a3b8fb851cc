import { chmodSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import type { Logger } from '../log.js'

/** Answers one control request; `progress` sends a line the caller prints while it waits. */
export type ControlHandler = (args: Record<string, unknown>, progress: (line: string) => void) => Promise<unknown>

/** `<data>/control.sock`: how commands reach the running hub (backup, import, export…). */
export const controlPath = (dataDir: string): string => join(dataDir, 'control.sock')

/**
 * A Unix socket in the data directory through which commands run by the operator reach the running hub,
 * which alone may open the LevelDB databases. Only the owner can connect (mode 0600), so it grants
 * nothing that owner could not do to the data files anyway.
 * Protocol: one JSON line `{"command":"backup","args":{…}}` in; JSON lines out: `{"progress":"…"}`
 * any number of times, then `{"ok":true,"result":…}` or `{"ok":false,"error":"…"}`.
 * Features register their commands with `handle(name, fn)` before `listen()`.
 */
export class ControlServer {
  private readonly handlers = new Map<string, ControlHandler>()
  private server?: Server
  private readonly open = new Set<Socket>()

  constructor(private readonly path: string, private readonly log: Logger) {}

  handle(command: string, handler: ControlHandler): void { this.handlers.set(command, handler) }

  async listen(): Promise<void> {
    // The hub holds the data directory's LevelDB locks, so a socket left here is a dead hub's.
    rmSync(this.path, { force: true })
    const server = createServer((sock) => this.serve(sock))
    // Created 0600 from the start (umask), not made private a moment later.
    const umask = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.path, () => { server.off('error', reject); resolve() })
      })
    } catch (err) {
      this.log.warn(`No control socket at ${this.path} (${(err as Error).message}): 'owntracks-hub backup' cannot reach this hub; a shorter --data path helps if it is too long (Unix sockets take ≤ 107 bytes).`)
      return
    } finally {
      process.umask(umask)
    }
    chmodSync(this.path, 0o600)
    this.server = server
  }

  private serve(sock: Socket): void {
    this.open.add(sock)
    sock.on('close', () => this.open.delete(sock))
    sock.on('error', () => {})
    let buf = ''
    const onData = (b: Buffer) => {
      buf += b.toString('utf8')
      const nl = buf.indexOf('\n')
      if (nl < 0) { if (buf.length > 65_536) sock.destroy(); return }
      sock.off('data', onData)
      void this.run(sock, buf.slice(0, nl))
    }
    sock.on('data', onData)
  }

  private async run(sock: Socket, line: string): Promise<void> {
    const send = (o: object) => { if (!sock.destroyed) sock.write(JSON.stringify(o) + '\n') }
    let req: { command?: unknown; args?: unknown }
    try { req = JSON.parse(line) as typeof req } catch { send({ ok: false, error: 'not a JSON request' }); sock.end(); return }
    const handler = typeof req.command === 'string' ? this.handlers.get(req.command) : undefined
    if (!handler) {
      send({ ok: false, error: `unknown control command ${JSON.stringify(req.command)} (known: ${[...this.handlers.keys()].join(', ')})` })
      sock.end()
      return
    }
    this.log.info(`Control: ${req.command} requested`)
    try {
      const result = await handler((req.args ?? {}) as Record<string, unknown>, (p) => send({ progress: p }))
      send({ ok: true, result })
    } catch (err) {
      this.log.error(`Control: ${req.command} failed: ${(err as Error).message}`)
      send({ ok: false, error: (err as Error).message })
    }
    sock.end()
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy()
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()))
    this.server = undefined
  }
}
