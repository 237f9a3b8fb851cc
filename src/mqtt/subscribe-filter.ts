/**
 * Why a SUBSCRIBE topic filter breaks MQTT's string rules, or undefined. The packet parser decodes
 * strings leniently, turning a malformed UTF-8 sequence into U+FFFD, so that character stands for invalid
 * UTF-8 here (a client that means U+FFFD itself has no business in OwnTracks topics).
 */
export function filterProblem(filter: string): string | undefined {
  if (filter.includes('\u0000')) return 'U+0000 (NUL) in the topic filter'
  if (filter.includes('\ufffd')) return 'invalid UTF-8 in the topic filter'
  return undefined
}
