import { Readable } from 'node:stream'
import { Redis } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js'
import type { Logger } from '../log.js'

/**
 * What aedes needs to be one broker across nodes, all in Redis: mqemitter-redis carries every publish
 * to every node (each node delivers to its own subscribers), aedes-persistence-redis keeps
 * subscriptions, retained messages, persistent sessions with their offline queues, and wills. aedes'
 * own cluster messages ride on the same emitter: a client id connecting on one node closes its old
 * connection on another ($SYS/<id>/new/clients), and a dead node's wills are published by the others.
 *
 * ioredis reconnects by itself after Redis restarts and resubscribes; commands issued meanwhile wait in
 * its queue. The connections' state is logged and reported by `trouble()` (for /healthz).
 */
export interface SharedBroker {
  persistence: unknown
  mq: unknown
  countRetained(): Promise<number>
  trouble(): string | undefined
  /** After aedes has closed (aedes closes the emitter itself). */
  close(): Promise<void>
}

export function redisBroker(url: string, log: Logger): SharedBroker {
  const conns: { name: string; c: Redis }[] = []
  const down = new Map<string, string>()
  let closing = false
  const connect = (name: string) => {
    const c = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) })
    c.on('ready', () => {
      if (down.delete(name)) log.warn(`Redis (${name}) is back`)
    })
    c.on('error', (err: Error) => {
      if (closing) return
      if (!down.has(name)) log.error(`Redis (${name}): ${err.message}; reconnecting`)
      down.set(name, `Redis unreachable (${err.message})`)
    })
    c.on('close', () => {
      if (closing || down.has(name)) return
      down.set(name, 'Redis connection closed')
      log.error(`Redis (${name}) connection closed; reconnecting`)
    })
    conns.push({ name, c })
    return c
  }
  const pubConn = connect('publish')
  const subConn = connect('subscribe')
  const store = connect('persistence')
  const mq = mqemitterRedis({ pubConn, subConn })
  // The emitter re-emits its connections' errors on `state`, which would end the process unheard; the
  // connections' own listeners above log them.
  ;(mq as unknown as { state: NodeJS.EventEmitter }).state.on('error', () => {})
  const persistence = new AsyncRedisPersistence({ conn: store }) as unknown as { createRetainedStreamCombi(p: string[]): AsyncIterable<unknown> }
  // aedes pipes the retained messages of a SUBSCRIBE (stream.pipe); this persistence yields an async iterable.
  const combi = persistence.createRetainedStreamCombi.bind(persistence)
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(combi(patterns))
  return {
    persistence,
    mq,
    countRetained: () => store.hlen('retained'),
    trouble: () => [...down.values()][0],
    async close() {
      closing = true
      await (persistence as unknown as { destroy(): Promise<void> }).destroy().catch(() => {})
      for (const { c } of conns) c.disconnect()
    },
  }
}
