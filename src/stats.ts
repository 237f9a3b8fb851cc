import { Histogram } from 'prom-client'

/** Counters every part bumps; read by $SYS (ops/sys-topics.ts) and /metrics (ops/metrics.ts). */
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
  // Operations (ops/, mqtt/limits.ts): what was delivered, and what the limits turned away.
  messagesOut = 0
  connectionsRefused = 0
  droppedTooLarge = 0
  publishesThrottled = 0
  slowConsumers = 0
  /** Reads of a connection that waited for their turn because the hub had much read and not yet handled (mqtt/read-gate.ts). */
  readsWaited = 0
  // Security (README.md, "Security"): what a hostile peer or user was refused.
  /** Logins refused unchecked because an account or address used up its password checks (MQTT and HTTP). */
  authThrottled = 0
  /** Logins refused because the client id belongs to another user (CONNACK 0x02). */
  clientIdRefused = 0
  /** Connections closed before login: over the per-address or total cap of unauthenticated connections. */
  pendingRefused = 0
  /** HTTP connections closed at once by max-http-per-address. */
  httpRefused = 0
  /** Connections closed for breaking the protocol (a SUBSCRIBE filter with U+0000 or invalid UTF-8). */
  protocolErrors = 0
  /** Publishes from a device over max-devices-per-user (acknowledged, neither stored nor delivered). */
  devicesRefused = 0
  /** Full collections the hub asked of V8 when it went quiet (ops/memory-reducer.ts). */
  memoryCollections = 0
  /** History group commits (one LevelDB batch for every write that arrived meanwhile) and how long each took. */
  readonly commitSeconds = new Histogram({
    name: 'othub_history_commit_seconds', help: 'Duration of history group commits (one LevelDB batch each)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers: [],
  })
  readonly started = Date.now()
}
