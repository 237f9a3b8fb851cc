/** Counters every part bumps; exposed by logs now, by /metrics and $SYS later. */
export class Stats {
  connections = 0
  authFailures = 0
  deniedPublish = 0
  deniedDelivery = 0
  decodeFailures = 0
  stored = 0
  storeFailures = 0
  messagesIn = 0
  /** Encrypted payloads opened with the user's secret, and those that would not open (wrong key, garbage). */
  decrypted = 0
  decryptFailures = 0
  /** Per bridge connection (bridge/bridge.ts): whether it is up, and what crossed it. */
  readonly bridges = new Map<string, { connected: boolean; connects: number; received: number; sent: number; dropped: number }>()
  readonly started = Date.now()
}
