/**
 * User and device names as they may enter the hub from anywhere: a topic level, an HTTP query or
 * header, an import, an API body. Checked once at each edge, so no name reaches the store or a topic
 * with a character that could end a key part (NUL), add or fake a topic level ('/', '+', '#') or
 * hide in a log line (control characters).
 */

/** The longest user or device name, in characters (OwnTracks device ids are a few characters). */
export const MAX_NAME = 64

// C0 and C1 controls and DEL; '/', '+', '#' are MQTT's level separator and wildcards.
const BAD = /[\u0000-\u001f\u007f-\u009f/+#]/

/** Why `name` cannot be a user or device name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'is empty'
  if (name.length > MAX_NAME) return `is longer than ${MAX_NAME} characters`
  const m = BAD.exec(name)
  if (m) return m[0] === '/' || m[0] === '+' || m[0] === '#' ? `contains '${m[0]}'` : `contains the control character U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`
  return undefined
}
