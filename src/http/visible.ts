import type { AccessControl, Identity } from '../access/access.js'
import type { DeviceSummary, HistoryStore } from '../store/types.js'

/** One device as a viewer sees it: its newest location and card through access.present(), its history window. */
export interface SeenDevice {
  user: string
  device: string
  /** The newest location as the viewer gets it, or undefined when there is none they may see. */
  last?: Record<string, unknown>
  /** The topic that location arrived on (the device topic unless the phone chose another). */
  lastTopic: string
  /** The card as the viewer gets it: only with a share that includes the card (or their own, or an admin). */
  card?: Record<string, unknown>
  months: string[]
  /** Earliest tst the viewer may read back (0 all, Infinity live only). */
  historyFrom: number
}

/** The device as `who` sees it, or null when they may not read its location topic. */
/** `annotate` adds what the hub knows of a stored location (place names) before the decision cuts it. */
export type Annotate = (loc: Record<string, unknown>) => Record<string, unknown>

export function seenDevice(access: AccessControl, who: Identity, x: DeviceSummary, annotate?: Annotate): SeenDevice | null {
  const historyFrom = access.historyFrom(who, x.user, x.device)
  if (historyFrom === null) return null
  const lastTopic = x.lastTopic ?? access.partTopic(x.user, x.device, 'location')
  const last = x.last && access.present(who, lastTopic, annotate ? annotate(x.last) : x.last)
  const card = x.card && access.present(who, access.partTopic(x.user, x.device, 'card'), x.card)
  return { user: x.user, device: x.device, lastTopic, months: x.months, historyFrom, ...(last ? { last } : {}), ...(card ? { card } : {}) }
}

/** Every device `who` may see, in the store's order. */
export function seenDevices(access: AccessControl, history: HistoryStore, who: Identity, annotate?: Annotate): SeenDevice[] {
  return history.devices().flatMap((x) => seenDevice(access, who, x, annotate) ?? [])
}
