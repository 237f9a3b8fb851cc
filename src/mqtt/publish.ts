import type { IngestOutcome } from '../ingest.js'

/** A message the hub publishes itself: a card, a command, a tour answer, what a bridge brings in. */
export interface HubMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** Kept on the packet as its client id, so a bridge can tell its own messages from everyone else's. */
  origin?: string
}

/**
 * The one way the hub publishes (Broker.publish, handed to cards, commands, HTTP mode, tours and
 * bridges): stored like a client's publish — a failed write rejects and nothing is delivered — then
 * delivered through the same per-receiver access checks. A message over a quota is neither stored nor
 * delivered; the outcome says so. `from` names the publisher in the logs.
 */
export type Publish = (m: HubMessage, from: string) => Promise<IngestOutcome>
