/**
 * OwnTracks topics: `<base>/<user>/<device>` for locations and wills, plus exactly one more level
 * for everything else (`.../event`, `.../info`, `.../cmd`, …).
 *
 * The base is `owntracks` unless configured: apps let users change `pubTopicBase`, and a base may
 * have several levels (`ot/home`). The base is taken literally: no slashes are trimmed, '' means
 * topics start with the user.
 */
import { nameProblem } from './names.js'
import type { DeviceTopic, OwnTracksType } from './types.js'

/** The subtopic the apps publish each `_type` to; '' is the device topic itself. */
const SUBTOPIC: Record<OwnTracksType, string> = {
  location: '',
  lwt: '',
  // Apps wrap whatever they publish, so an encrypted payload lands where the plain one would;
  // location is by far the most common.
  encrypted: '',
  transition: 'event',
  card: 'info',
  cmd: 'cmd',
  waypoint: 'waypoint',
  waypoints: 'waypoints',
  configuration: 'dump',
  steps: 'step',
  beacon: 'beacon',
  status: 'status',
  request: 'request',
}

/**
 * `<base>/<user>/<device>[/<subtopic>]`, or null for anything else: other bases, fewer or more
 * levels, empty levels, wildcards (a filter such as `owntracks/+/+` names no device), and levels no
 * name may have (names.ts).
 * Called for every publish, so it scans instead of splitting.
 */
export function parseDeviceTopic(topic: string, base = 'owntracks'): DeviceTopic | null {
  let start = 0
  if (base !== '') {
    if (topic.length <= base.length + 1 || !topic.startsWith(base) || topic[base.length] !== '/') {
      return null
    }
    start = base.length + 1
  }
  const userEnd = topic.indexOf('/', start)
  if (userEnd === -1) return null
  const deviceEnd = topic.indexOf('/', userEnd + 1)
  const user = topic.slice(start, userEnd)
  let device: string
  let subtopic = ''
  if (deviceEnd === -1) {
    device = topic.slice(userEnd + 1)
  } else {
    if (topic.indexOf('/', deviceEnd + 1) !== -1) return null
    device = topic.slice(userEnd + 1, deviceEnd)
    subtopic = topic.slice(deviceEnd + 1)
    if (!isLevel(subtopic)) return null
  }
  if (!isLevel(user) || !isLevel(device)) return null
  return { user, device, subtopic }
}

export function deviceTopic(user: string, device: string, subtopic = '', base = 'owntracks'): string {
  const topic = base === '' ? `${user}/${device}` : `${base}/${user}/${device}`
  return subtopic === '' ? topic : `${topic}/${subtopic}`
}

export function subtopicForType(type: OwnTracksType): string {
  return SUBTOPIC[type]
}

/** A level that can name a user, a device or a subtopic (names.ts: no wildcards, controls, or overlong names). */
function isLevel(level: string): boolean {
  return nameProblem(level) === undefined
}
