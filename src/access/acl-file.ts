import { validFilter } from './topic-match.js'
import type { Access, AclFile, AclRule } from './types.js'

/*
 * Mosquitto's acl_file, read exactly as Mosquitto 2.0 reads it (checked against 2.0.11), so a file
 * that loads here loads there and means the same:
 *   - trailing blanks are stripped; `#` comments only in column 1 (an indented `#` is an error there);
 *   - words are separated by spaces only (a tab inside `topic\tread x` makes an unknown keyword);
 *   - `topic [access] <filter>` / `pattern [access] <filter>`: the filter is the rest of the line, so
 *     it may contain spaces; with a single word that word is the filter and access is readwrite;
 *   - `user <name>`: the name is the rest of the line, trimmed;
 *   - topic lines before the first `user` are for anonymous clients; a `pattern` anywhere is global;
 *   - a `user` block may appear more than once; its rules add up.
 * Where Mosquitto refuses to start, we throw AclSyntaxError naming the file and line.
 */

export class AclSyntaxError extends Error {
  override readonly name = 'AclSyntaxError'
  constructor(readonly file: string, readonly line: number, readonly reason: string) {
    super(`${file} line ${line}: ${reason}`)
  }
}

const ACCESS: ReadonlySet<string> = new Set<Access>(['read', 'write', 'readwrite', 'deny'])

/** C's isspace(), which Mosquitto uses to strip line ends. */
const TRAILING_SPACE = /[ \t\n\v\f\r]+$/
const BLANKS = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g

export function parseAclFile(text: string, file: string): AclFile {
  const acl: AclFile = { anonymous: [], users: new Map(), patterns: [] }
  let user: string | null = null
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1
    const buf = lines[i].replace(TRAILING_SPACE, '')
    if (buf === '' || buf.startsWith('#')) continue
    const fail = (reason: string): never => { throw new AclSyntaxError(file, line, reason) }

    // strtok(" ") semantics: skip leading spaces, the word ends at the next space.
    let p = 0
    while (buf.charCodeAt(p) === 0x20) p++
    if (p === buf.length) continue
    let e = buf.indexOf(' ', p)
    if (e < 0) e = buf.length
    const keyword = buf.slice(p, e)
    const rest = e < buf.length ? buf.slice(e + 1) : ''

    if (keyword === 'user') {
      const name = rest.replace(BLANKS, '')
      if (name === '') fail("'user' needs a user name")
      user = name
      if (!acl.users.has(name)) acl.users.set(name, [])
      continue
    }
    if (keyword !== 'topic' && keyword !== 'pattern') {
      if (i === 0 && keyword.startsWith('\uFEFF')) fail('the file starts with a byte order mark; save it as UTF-8 without BOM')
      if (keyword.startsWith('#')) fail("a comment must start at the beginning of the line (Mosquitto rejects an indented '#')")
      if (/\t/.test(keyword)) fail(`unknown keyword '${keyword.replace(/\t/g, '\\t')}' (separate words with spaces, not tabs)`)
      fail(`unknown keyword '${keyword}' (expected user, topic, pattern)`)
    }

    let a = 0
    while (rest.charCodeAt(a) === 0x20) a++
    if (a === rest.length) fail(`'${keyword}' needs a topic filter`)
    let ae = rest.indexOf(' ', a)
    if (ae < 0) ae = rest.length
    const word = rest.slice(a, ae)
    const after = ae < rest.length ? rest.slice(ae + 1) : ''
    let access: Access
    let topic: string
    if (after === '') {
      access = 'readwrite'
      topic = word
    } else {
      if (!ACCESS.has(word)) fail(`unknown access '${word}' (expected read, write, readwrite, deny)`)
      access = word as Access
      topic = after.replace(BLANKS, '')
    }
    if (!validFilter(topic)) {
      fail(`invalid topic filter '${topic}' ('+' and '#' must fill a whole level, '#' only as the last one)`)
    }
    const rule: AclRule = { access, topic, pattern: keyword === 'pattern', source: { file, line } }
    if (rule.pattern) acl.patterns.push(rule)
    else if (user === null) acl.anonymous.push(rule)
    else acl.users.get(user)!.push(rule)
  }
  return acl
}

/**
 * Mosquitto-loadable text that parses back to the same rules: anonymous topics first (they must come
 * before any `user`), then patterns, then one block per user. Access is always spelled out, because
 * `topic deny` alone would mean readwrite on a topic called "deny".
 */
export function formatAclFile(acl: AclFile): string {
  const out: string[] = []
  const line = (kw: string, r: AclRule): string => {
    checkTopic(r)
    return `${kw} ${r.access} ${r.topic}`
  }
  for (const r of acl.anonymous) out.push(line('topic', r))
  if (acl.patterns.length > 0) {
    if (out.length > 0) out.push('')
    for (const r of acl.patterns) out.push(line('pattern', r))
  }
  for (const [name, rules] of acl.users) {
    if (name === '' || name !== name.replace(BLANKS, '') || /[\r\n]/.test(name)) {
      throw new Error(`user name '${name}' cannot be written to an acl_file (empty, surrounding blanks or line break)`)
    }
    if (out.length > 0) out.push('')
    out.push(`user ${name}`)
    for (const r of rules) out.push(line('topic', r))
  }
  return out.length > 0 ? out.join('\n') + '\n' : ''
}

function checkTopic(r: AclRule): void {
  if (!ACCESS.has(r.access)) throw new Error(`rule from ${r.source.file} line ${r.source.line}: unknown access '${r.access}'`)
  if (!validFilter(r.topic) || r.topic !== r.topic.replace(BLANKS, '') || /[\r\n]/.test(r.topic)) {
    throw new Error(`rule from ${r.source.file} line ${r.source.line}: topic '${r.topic}' cannot be written to an acl_file`)
  }
}
