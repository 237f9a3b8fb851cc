import { Socket } from 'node:net'
import type { Client } from 'aedes'

interface Watched { conn: unknown; close: () => void; _eos: () => void }

/**
 * aedes learns that a connection is gone from stream.finished(), which puts six listeners and the
 * closures behind them on every socket (close, end, error, finish, and two for older streams), beside
 * aedes' own 'end' and 'error' listeners: most of a kilobyte per idle phone. A TCP or TLS socket emits
 * 'close' exactly once however it ends (a DISCONNECT, the phone gone, an error, the hub cutting it off),
 * and aedes' close() is safe to call twice, so one listener on 'close' tells aedes the same. A WebSocket
 * stream emits no 'close' (ws makes it with emitClose off): it keeps finished().
 */
export function leanCloseWatch(client: Client): void {
  const c = client as unknown as Watched
  const conn = c.conn
  // finished() on a socket already closed calls back later, without listeners to take away: leave it
  if (!(conn instanceof Socket) || conn.destroyed) return
  c._eos()
  conn.on('close', closeClient)
  c._eos = unwatch
}

/**
 * The listener, one for every socket: aedes keeps its client on the socket as `client`. 'close' passes
 * hadError, which close() would take for its callback, so it is not passed on.
 */
function closeClient(this: Socket & { client?: Watched }): void {
  this.client?.close()
}

/** What aedes calls, as a method of the client, once the client is closed: the watch comes off its socket. */
function unwatch(this: Watched): void {
  (this.conn as Socket).removeListener('close', closeClient)
}
