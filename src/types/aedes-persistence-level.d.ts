// aedes-persistence-level ships no types; the hub only constructs it and hands it to aedes.
declare module 'aedes-persistence-level/asyncPersistence.js' {
  import type { AbstractLevel } from 'abstract-level'
  export default class AsyncLevelPersistence {
    constructor(db: AbstractLevel<string | Buffer | Uint8Array, string, Buffer>)
  }
}
