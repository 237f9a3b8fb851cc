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
  readonly started = Date.now()
}
