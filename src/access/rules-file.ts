import { createHash } from 'node:crypto'
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml'
import { validateUserName } from '../users/registry.js'
import { parseDuration, parsePrecision, parseInstant } from './rules-values.js'
import { PARTS, type CommandGrant, type HistoryLimit, type Part, type Precision, type Share, type SharingRules, type Where } from './types.js'

/*
 * acl/sharing.yml, the sharing rules people edit (the language is documented in acl/README.md):
 *
 *   people:   [mum, dad, jane, fred, kid]        # names usable below besides the hub's users
 *   admins:   [mum]                              # adds to <data>/admins
 *   groups:                                      # everyone in a group sees everyone else in it
 *     family: [mum, dad, kid]
 *   shares:                                      # one person's devices shown to others
 *     - from: jane
 *       to: [fred, family]
 *       devices: [phone]                         # default: all of them
 *       include: [location, card]                # default: location, events, card
 *       precision: 1km                           # or 500m, or geohash 5
 *       history: 7d                              # or false (live only); default: all
 *       until: 2026-12-01T18:00Z                 # or  for: 2h  (from `created`, stamped by the hub)
 *   commands:                                    # who may publish to whose …/cmd
 *     - from: mum
 *       to: kid
 *
 * Every mistake is reported with the file, the line and what to do; the caller keeps the last good rules.
 */

export class RulesError extends Error {
  override readonly name = 'RulesError'
  constructor(readonly file: string, readonly line: number, readonly reason: string) {
    super(`${file} line ${line}: ${reason}`)
  }
}

export interface ParseOptions {
  /** The hub's users: names a rule may use besides `people:`. */
  users?: Iterable<string>
  /** Epoch ms; `for:` without `created:` counts from here (the hub stamps `created` so it survives restarts). */
  now: number
}

const TOP = ['people', 'admins', 'groups', 'shares', 'commands']
const VIEW_KEYS = ['include', 'precision', 'history', 'until', 'for', 'created']
const SHARE_KEYS = ['id', 'from', 'to', 'devices', ...VIEW_KEYS]
const GROUP_KEYS = ['members', ...VIEW_KEYS]
const COMMAND_KEYS = ['from', 'to', 'devices']

interface View { include: Part[]; precision: Precision | null; history: HistoryLimit; until: number | null }

/** Parses YAML text into a document whose nodes know their lines; YAML syntax errors become RulesError. */
export function parseRulesDocument(text: string, file: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false })
  const err = doc.errors[0]
  if (err) throw new RulesError(file, err.linePos?.[0].line ?? 1, `not valid YAML: ${err.message.split('\n')[0]}`)
  return { doc, lines }
}

export function parseRules(text: string, file: string, o: ParseOptions): SharingRules {
  const { doc, lines } = parseRulesDocument(text, file)
  return new Reader(file, lines, o).read(doc)
}

/** The id of a `shares:` entry: its `id:` if given, else a digest of what it says (so an edit changes it). */
export function shareId(item: unknown, explicit: string | undefined, taken: Set<string>): string {
  let id = explicit ?? 's' + createHash('sha256').update(JSON.stringify(item)).digest('base64url').slice(0, 8)
  for (let n = 2; explicit === undefined && taken.has(id); n++) id = id.replace(/-\d+$/, '') + `-${n}`
  taken.add(id)
  return id
}

/** A key with a value: `shares:` alone (null) counts as absent, so a list can be emptied to nothing. */
function given(p: Pair | undefined): p is Pair {
  return !!p && p.value != null && !(isScalar(p.value) && p.value.value === null)
}

/**
 * What the readers of the hub's YAML files (sharing.yml, places.yml) share: where a node stands, and
 * refusing it with file, line and reason.
 */
export class YamlReader {
  constructor(protected readonly file: string, protected readonly lines: LineCounter) {}

  protected where(node: Node | Pair | null | undefined): Where {
    const n = (node && 'range' in node ? node : (node as Pair | undefined)?.key) as Node | undefined
    const at = n?.range?.[0]
    return { file: this.file, line: at === undefined ? 1 : this.lines.linePos(at).line }
  }

  protected fail(node: Node | Pair | null | undefined, reason: string): never {
    throw new RulesError(this.file, this.where(node).line, reason)
  }
}

class Reader extends YamlReader {
  private known = new Set<string>()
  private groupNames = new Set<string>()
  /** Groups read so far, by name: a `to:` or `from:` may name one. */
  private groupsSeen = new Map<string, string[]>()

  constructor(file: string, lines: LineCounter, private readonly o: ParseOptions) { super(file, lines) }


  read(doc: Document): SharingRules {
    const root = doc.contents
    const rules: SharingRules = { file: this.file, people: [], admins: new Map(), groups: new Map(), shares: [], commands: [] }
    if (root === null || (isScalar(root) && root.value === null)) return rules
    if (!isMap(root)) this.fail(root, `expected a mapping with any of ${TOP.join(', ')}`)
    const top = this.keys(root, TOP, 'the rules file')

    for (const n of this.names(top.get('people'), 'people')) {
      this.checkName(n.node, n.name)
      rules.people.push(n.name)
    }
    this.known = new Set([...rules.people, ...(this.o.users ?? [])])

    const groups = top.get('groups')
    if (given(groups)) {
      if (!isMap(groups.value)) this.fail(groups, "'groups' maps a group name to its members, e.g. family: [jane, fred]")
      for (const g of groups.value.items) {
        const name = this.scalarKey(g)
        if (this.groupNames.has(name)) this.fail(g, `group '${name}' is defined twice; keep one`)
        this.groupNames.add(name)
      }
      for (const g of groups.value.items) this.group(g, rules)
    }
    for (const n of this.names(top.get('admins'), 'admins')) rules.admins.set(this.person(n.node, n.name), this.where(n.node))

    const shares = top.get('shares')
    if (given(shares)) {
      if (!isSeq(shares.value)) this.fail(shares, "'shares' is a list; start each share with '- from: NAME'")
      const ids = new Set<string>()
      for (const item of shares.value.items) rules.shares.push(this.share(item as Node, ids))
    }
    const commands = top.get('commands')
    if (given(commands)) {
      if (!isSeq(commands.value)) this.fail(commands, "'commands' is a list; start each entry with '- from: NAME'")
      for (const item of commands.value.items) rules.commands.push(this.command(item as Node))
    }
    return rules
  }

  /** The pairs of a mapping by key; an unknown key is an error naming the known ones. */
  private keys(map: YAMLMap, allowed: string[], what: string): Map<string, Pair> {
    const out = new Map<string, Pair>()
    for (const p of map.items) {
      const k = this.scalarKey(p)
      if (!allowed.includes(k)) this.fail(p, `unknown key '${k}' in ${what} (known: ${allowed.join(', ')})`)
      if (out.has(k)) this.fail(p, `'${k}' appears twice in ${what}; keep one`)
      out.set(k, p)
    }
    return out
  }

  private scalarKey(p: Pair): string {
    if (!isScalar(p.key) || typeof p.key.value !== 'string' && typeof p.key.value !== 'number') this.fail(p, 'expected a plain name as key')
    return String(p.key.value)
  }

  /** A name or a list of names (`fred` or `[fred, jane]`). */
  private names(p: Pair | undefined, what: string): { name: string; node: Node }[] {
    if (!given(p)) return []
    const v = p.value as Node
    const items = isSeq(v) ? (v.items as Node[]) : [v]
    return items.map((n) => {
      if (!isScalar(n) || (typeof n.value !== 'string' && typeof n.value !== 'number')) this.fail(n ?? p, `'${what}' takes a name or a list of names`)
      return { name: String(n.value), node: n }
    })
  }

  private checkName(node: Node, name: string): void {
    try { validateUserName(name) } catch (err) { this.fail(node, (err as Error).message) }
  }

  private person(node: Node, name: string): string {
    if (this.known.has(name)) return name
    if (this.groupNames.has(name)) this.fail(node, `'${name}' is a group; name a person here`)
    const known = [...this.known].sort()
    this.fail(node, `unknown person '${name}' (known: ${known.join(', ') || 'nobody yet'}); add them to 'people:' or create the user with 'npx owntracks-hub user add ${name}'`)
  }

  private devices(p: Pair | undefined): string[] | null {
    const list = this.names(p, 'devices')
    if (list.length === 0) return null
    for (const d of list) {
      if (d.name === '' || /[/+#\x00]/.test(d.name)) this.fail(d.node, `device '${d.name}' is not a topic level: no '/', '+' or '#'`)
    }
    return list.map((d) => d.name)
  }

  private view(m: Map<string, Pair>): View {
    const include = m.has('include') ? this.names(m.get('include'), 'include').map((n) => {
      if (!(PARTS as string[]).includes(n.name)) this.fail(n.node, `include: unknown part '${n.name}' (known: ${PARTS.join(', ')})`)
      return n.name as Part
    }) : [...PARTS]
    if (include.length === 0) this.fail(m.get('include'), `include: name at least one of ${PARTS.join(', ')}`)
    let precision: Precision | null = null
    const pp = m.get('precision')
    if (pp) {
      const r = parsePrecision((pp.value as { value?: unknown } | null)?.value)
      if (typeof r === 'string') this.fail(pp, `precision: ${r}`)
      precision = r
      // A transition names the region crossed and when: blurring its coordinates would hide nothing.
      // A place share is the exception: the hub's own transitions (enter/leave a place) are what it shows.
      if (r.kind !== 'place' && include.includes('events') && m.has('include')) this.fail(m.get('include'), "precision hides where exactly, but events (region transitions) name the place: remove 'events' from include, or remove precision")
    }
    const effectiveInclude = precision && precision.kind !== 'place' ? include.filter((x) => x !== 'events') : include
    let history: HistoryLimit = true
    const hp = m.get('history')
    if (hp) {
      const v = (hp.value as { value?: unknown } | null)?.value
      if (v === true || v === false) history = v
      else {
        const d = typeof v === 'string' ? parseDuration(v) : null
        if (d === null) this.fail(hp, `history: '${String(v)}' is not true, false or a duration such as 7d, 12h, 2w`)
        history = d
      }
    }
    const until = this.until(m)
    return { include: effectiveInclude, precision, history, until }
  }

  private until(m: Map<string, Pair>): number | null {
    const u = m.get('until')
    const f = m.get('for')
    const c = m.get('created')
    const text = (p: Pair) => String((p.value as { value?: unknown } | null)?.value ?? '')
    if (u && f) this.fail(f, "give either 'until' or 'for', not both")
    let created: number | null = null
    if (c) {
      created = parseInstant(text(c))
      if (created === null) this.fail(c, `created: '${text(c)}' is not a time with a zone, e.g. 2026-12-01T18:00Z`)
    }
    if (u) {
      const t = parseInstant(text(u))
      if (t === null) this.fail(u, `until: '${text(u)}' is not a time with a zone, e.g. 2026-12-01T18:00Z`)
      return t
    }
    if (f) {
      const d = parseDuration(text(f))
      if (d === null || d === 0) this.fail(f, `for: '${text(f)}' is not a duration such as 2h, 30m, 3d`)
      return (created ?? this.o.now) + d * 1000
    }
    return null
  }

  private group(g: Pair, rules: SharingRules): void {
    const name = this.scalarKey(g)
    this.checkName(g.key as Node, name)
    if (this.known.has(name)) this.fail(g, `group '${name}' has the name of a person; pick another group name`)
    let members: string[]
    let view: View
    const v = g.value as Node | null
    if (isMap(v)) {
      const m = this.keys(v, GROUP_KEYS, `group '${name}'`)
      members = this.names(m.get('members'), 'members').map((n) => this.person(n.node, n.name))
      view = this.view(m)
    } else {
      members = this.names(g, `group '${name}'`).map((n) => this.person(n.node, n.name))
      view = { include: [...PARTS], precision: null, history: true, until: null }
    }
    members = [...new Set(members)]
    if (members.length < 2) this.fail(g, `group '${name}' needs at least two members`)
    const where = this.where(g)
    rules.groups.set(name, { members, where })
    this.groupsSeen.set(name, members)
    for (const from of members) {
      rules.shares.push({ id: `group:${name}:${from}`, from, to: members.filter((x) => x !== from), devices: null, ...view, group: name, where })
    }
  }

  private share(item: Node, ids: Set<string>): Share {
    if (!isMap(item)) this.fail(item, "a share is a mapping: '- from: jane' then 'to: fred' on the next line")
    const m = this.keys(item, SHARE_KEYS, 'a share')
    const fromList = this.names(m.get('from'), 'from')
    if (fromList.length !== 1) this.fail(m.get('from') ?? item, "'from' names the one person whose devices are shared")
    const from = this.person(fromList[0].node, fromList[0].name)
    const to = this.audienceOf(m.get('to'), item, 'to').filter((x) => x !== from)
    if (to.length === 0) this.fail(m.get('to'), `'to' names only ${from}, who sees their own devices anyway`)
    const idPair = m.get('id')
    const explicit = idPair ? String((idPair.value as { value?: unknown } | null)?.value ?? '') : undefined
    if (explicit !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(explicit)) this.fail(idPair, `id: '${explicit}' may use letters, digits, '-' and '_' only`)
    if (explicit !== undefined && ids.has(explicit)) this.fail(idPair, `id: '${explicit}' is used twice`)
    const id = shareId(item.toJSON(), explicit, ids)
    return { id, from, to, devices: this.devices(m.get('devices')), ...this.view(m), where: this.where(item) }
  }

  private audienceOf(p: Pair | undefined, parent: Node, what: string): string[] {
    const list = this.names(p, what)
    if (list.length === 0) this.fail(p ?? parent, `'${what}' is missing: name people or groups`)
    const out: string[] = []
    for (const n of list) {
      const members = this.groupsSeen.get(n.name)
      if (members) out.push(...members)
      else out.push(this.person(n.node, n.name))
    }
    return [...new Set(out)]
  }

  private command(item: Node): CommandGrant {
    if (!isMap(item)) this.fail(item, "a command permission is a mapping: '- from: mum' then 'to: kid'")
    const m = this.keys(item, COMMAND_KEYS, 'a command permission')
    const from = this.audienceOf(m.get('from'), item, 'from')
    const toList = this.names(m.get('to'), 'to')
    if (toList.length !== 1) this.fail(m.get('to') ?? item, "'to' names the one person whose devices receive the commands")
    const to = this.person(toList[0].node, toList[0].name)
    const senders = from.filter((x) => x !== to)
    if (senders.length === 0) this.fail(m.get('from'), `'from' names only ${to}, who may command their own devices anyway`)
    return { from: senders, to, devices: this.devices(m.get('devices')), where: this.where(item) }
  }
}
