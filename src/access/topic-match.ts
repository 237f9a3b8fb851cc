/*
 * MQTT 3.1.1 topic filters (section 4.7). Called for every delivery and every ACL rule, so it walks
 * the two strings in place: no split(), no RegExp, no allocation.
 */

const SLASH = 0x2f
const PLUS = 0x2b
const HASH = 0x23
const DOLLAR = 0x24

/**
 * Whether `filter` matches the topic name `topic`. `topic` is assumed to be a valid topic name (no
 * wildcards; the broker rejects such publishes before anyone asks). An invalid filter matches nothing.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length
  const tl = topic.length
  if (fl === 0 || tl === 0) return false
  // MQTT-4.7.2-1: `#` and `+/…` must not reach `$SYS/…` and other server topics.
  if (topic.charCodeAt(0) === DOLLAR) {
    const c = filter.charCodeAt(0)
    if (c === PLUS || c === HASH) return false
  }
  let f = 0
  let t = 0
  for (;;) {
    // f and t are at the start of a level.
    const c = filter.charCodeAt(f)
    let fe: number // end of this filter level
    if (c === HASH) {
      // Only valid as the whole last level; it then matches this level and everything below.
      return f + 1 === fl
    }
    let te = t // end of this topic level
    if (c === PLUS && (f + 1 === fl || filter.charCodeAt(f + 1) === SLASH)) {
      fe = f + 1
      while (te < tl && topic.charCodeAt(te) !== SLASH) te++
    } else {
      fe = f
      while (fe < fl) {
        const fc = filter.charCodeAt(fe)
        if (fc === SLASH) break
        if (te >= tl || topic.charCodeAt(te) !== fc) return false // also rejects a stray + or #: the topic has none
        fe++
        te++
      }
      if (te < tl && topic.charCodeAt(te) !== SLASH) return false
    }
    if (fe === fl) return te === tl
    if (te === tl) {
      // Topic ended first: `a/#` still matches `a` (MQTT-4.7.1-2, `#` includes the parent level).
      return fe + 2 === fl && filter.charCodeAt(fe + 1) === HASH
    }
    f = fe + 1
    t = te + 1
  }
}

/** A filter a client may subscribe with (and an ACL line may contain). */
export function validFilter(filter: string): boolean {
  const n = filter.length
  if (n === 0 || Buffer.byteLength(filter, 'utf8') > 65535) return false
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i)
    if (c === 0) return false
    if (c === PLUS || c === HASH) {
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return false
      if (i + 1 < n && filter.charCodeAt(i + 1) !== SLASH) return false
      if (c === HASH && i + 1 !== n) return false
    }
  }
  return true
}

/** A topic name a client may publish to: a filter without wildcards. */
export function validTopic(topic: string): boolean {
  const n = topic.length
  if (n === 0 || Buffer.byteLength(topic, 'utf8') > 65535) return false
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i)
    if (c === 0 || c === PLUS || c === HASH) return false
  }
  return true
}

/** Whether some topic name matches both filters (both assumed valid). */
export function filtersOverlap(a: string, b: string): boolean {
  // A leading wildcard never reaches a `$` topic, so it cannot overlap a filter that only names them.
  const a0 = a.charCodeAt(0)
  const b0 = b.charCodeAt(0)
  if ((a0 === PLUS || a0 === HASH) && b0 === DOLLAR) return false
  if ((b0 === PLUS || b0 === HASH) && a0 === DOLLAR) return false
  const al = a.split('/')
  const bl = b.split('/')
  for (let i = 0; ; i++) {
    if (i === al.length || i === bl.length) {
      // One ran out: they overlap only if the other continues with just `#` (parent-level match).
      if (al.length === bl.length) return true
      const rest = i === al.length ? bl : al
      return rest.length === i + 1 && rest[i] === '#'
    }
    const x = al[i]
    const y = bl[i]
    if (x === '#' || y === '#') return true
    if (x !== '+' && y !== '+' && x !== y) return false
  }
}
