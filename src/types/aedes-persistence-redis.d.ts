// aedes-persistence-redis ships no types; the hub only constructs it and hands it to aedes.
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  import type { Redis } from 'ioredis'
  export default class AsyncRedisPersistence {
    constructor(opts: { conn: Redis; maxSessionDelivery?: number })
  }
}
