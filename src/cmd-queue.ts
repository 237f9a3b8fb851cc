import type { OwnTracksMessage } from './owntracks/types.js'

/**
 * Commands waiting for phones in HTTP mode: they cannot be pushed to, so a `cmd` waits here and
 * leaves with the answer to the device's next POST /pub, once.
 */
export class CommandQueue {
  private readonly queues = new Map<string, OwnTracksMessage[]>()

  enqueue(user: string, device: string, cmd: OwnTracksMessage): void {
    const k = `${user}\x00${device}`
    const q = this.queues.get(k) ?? []
    q.push(cmd)
    if (q.length > 100) q.shift() // a phone that never comes back must not grow this forever
    this.queues.set(k, q)
  }

  /** Removes and returns what waits for the device. */
  take(user: string, device: string): OwnTracksMessage[] {
    const k = `${user}\x00${device}`
    const q = this.queues.get(k) ?? []
    this.queues.delete(k)
    return q
  }
}
