import { Document, isMap, isScalar, isSeq, type Node, type YAMLSeq } from 'yaml'
import { parseRulesDocument, shareId } from '../access/rules-file.js'

/*
 * Changes to acl/places.yml made over HTTP (the map) go through yaml's Document, as the sharing rules
 * do, so comments and layout around untouched entries stay.
 */

const HEADER = ' Places and alerts. The language is explained in README.md in this directory.\n' +
  ' The hub applies changes within 2 seconds; a file with a mistake is refused (see the hub log)\n and the previous places stay in force.'
const OUT = { flowCollectionPadding: false, lineWidth: 0 } as const

export interface PlaceEntry {
  name: string
  owner: string
  lat?: number
  lon?: number
  radius?: string | number
  polygon?: [number, number][]
}

export interface AlertEntry {
  about: string
  to?: string | string[]
  places?: string[]
  on?: string[]
  'not-arrived-by'?: string
  days?: string[]
  quiet?: string
  webhook?: string | string[]
  push?: boolean
}

function load(text: string, file: string): Document {
  if (text.trim() === '') { const d = new Document({}); d.commentBefore = HEADER; return d }
  const { doc } = parseRulesDocument(text, file)
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) doc.contents = doc.createNode({}) as Node as never
  return doc
}

function seq(doc: Document, key: string): YAMLSeq {
  let s = doc.get(key, true)
  if (!isSeq(s)) { s = doc.createNode([]) as YAMLSeq; doc.set(key, s) }
  return s as YAMLSeq
}

function node(doc: Document, e: object): Node {
  const n = doc.createNode(e) as Node
  if (isMap(n)) for (const p of n.items) if (isSeq(p.value) && (p.value.items as Node[]).every((x) => isScalar(x) || isSeq(x))) (p.value as YAMLSeq).flow = true
  if (isMap(n)) for (const p of n.items) if (isSeq(p.value)) for (const x of p.value.items as Node[]) if (isSeq(x)) (x as YAMLSeq).flow = true
  return n
}

const same = (it: unknown, owner: string, name: string) => {
  const j = (isMap(it) ? it.toJSON() : null) as { owner?: unknown; name?: unknown } | null
  return j !== null && String(j.owner) === owner && String(j.name) === name
}

export function addPlace(text: string, file: string, e: PlaceEntry): string {
  const doc = load(text, file)
  seq(doc, 'places').items.push(node(doc, clean(e)))
  return doc.toString(OUT)
}

/** Replaces the place `owner/name` with `e` (in the same spot); null if there is none. */
export function replacePlace(text: string, file: string, owner: string, name: string, e: PlaceEntry | null): string | null {
  const doc = load(text, file)
  const s = seq(doc, 'places')
  const i = s.items.findIndex((it) => same(it, owner, name))
  if (i < 0) return null
  if (e === null) s.items.splice(i, 1)
  else s.items[i] = node(doc, clean(e))
  return doc.toString(OUT)
}

export function addAlert(text: string, file: string, e: AlertEntry): string {
  const doc = load(text, file)
  seq(doc, 'alerts').items.push(node(doc, clean(e)))
  return doc.toString(OUT)
}

/** Removes the alert whose id (places-file.ts) is `id`; null if there is none. */
export function removeAlert(text: string, file: string, id: string): string | null {
  const doc = load(text, file)
  const s = seq(doc, 'alerts')
  const ids = new Set<string>()
  const i = s.items.findIndex((it) => shareId((it as Node).toJSON(), undefined, ids).replace(/^s/, 'a') === id)
  if (i < 0) return null
  s.items.splice(i, 1)
  return doc.toString(OUT)
}

function clean<T extends object>(e: T): T {
  return Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined && v !== null)) as T
}
