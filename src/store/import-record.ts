import { KEPT } from './kept.js'
import { decodePayload } from '../owntracks/decode.js'
import { deviceTopic, parseDeviceTopic, subtopicForType } from '../owntracks/topics.js'
import type { HistoryRecord } from './types.js'

/** A message from an import that will not be stored, and why (the summary counts reasons). */
export interface Skipped { skip: string }

/**
 * One message from an import (a Recorder store, a GPX file) → the record MQTT ingestion would have
 * stored for it: the same decoder and the same choice of kept types, on the topic the apps publish
 * that type to. `payload` is JSON text or a parsed object; `at` (receive time, epoch s) keys
 * messages that carry no `tst`.
 */
export function importRecord(user: string, device: string, payload: string | object, base: string, at?: number): HistoryRecord | Skipped {
  if (!parseDeviceTopic(deviceTopic(user, device, '', base), base)) return { skip: `'${user}/${device}' cannot name a device` }
  const res = decodePayload(typeof payload === 'string' ? payload : JSON.stringify(payload))
  if (!res.ok) return { skip: res.reason }
  const type = res.message._type
  if (!KEPT.has(type)) return { skip: `${type} messages are not kept` }
  return { user, device, message: res.message, topic: deviceTopic(user, device, subtopicForType(type), base), ...(at === undefined ? {} : { at }) }
}

export const isSkipped = (r: HistoryRecord | Skipped): r is Skipped => 'skip' in r
