import { connect } from 'node:net'

/** The hub is not running on that data directory (no socket, or nobody listening on it). */
export class NoHubError extends Error {}

/**
 * Sends one command to the hub behind `path` (server.ts) and resolves with its result; progress lines
 * go to `onProgress`. Rejects with NoHubError when no hub answers, with the hub's message otherwise.
 */
export function callControl(path: string, command: string, args: Record<string, unknown>, onProgress: (line: string) => void = () => {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path)
    let buf = ''
    let settled = false
    const finish = (f: () => void) => { if (!settled) { settled = true; f() } }
    sock.on('connect', () => sock.write(JSON.stringify({ command, args }) + '\n'))
    sock.on('error', (err: NodeJS.ErrnoException) => finish(() => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NoHubError(`no hub answers on ${path}`))
      else if (err.code === 'EACCES') reject(new Error(`${path}: permission denied; run this as the user the hub runs as`))
      else reject(err)
    }))
    sock.on('data', (b: Buffer) => {
      buf += b.toString('utf8')
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { progress?: string; ok?: boolean; result?: unknown; error?: string }
        buf = buf.slice(nl + 1)
        if (msg.progress !== undefined) onProgress(msg.progress)
        else if (msg.ok) finish(() => resolve(msg.result))
        else finish(() => reject(new Error(msg.error ?? 'the hub reported a failure')))
      }
    })
    sock.on('close', () => finish(() => reject(new Error('the hub closed the control connection without an answer'))))
  })
}
