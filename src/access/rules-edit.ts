import { closeSync, fsyncSync, openSync, renameSync, statSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { Document, isMap, isScalar, isSeq, type Node, type YAMLMap, type YAMLSeq } from 'yaml'
import { parseRulesDocument, shareId } from './rules-file.js'
import { isoMinute } from './rules-values.js'

/*
 * Changes to acl/sharing.yml made by the hub (the HTTP API, `acl import`, stamping `created:`) go
 * through yaml's Document, which keeps the comments and layout people wrote around the entries it does
 * not touch. Every save is atomic: readers (the watcher, an editor) see the old file or the new one.
 */

/** What a `shares:` entry may say, as written to the file. */
export interface ShareEntry {
  id?: string
  from: string
  to: string | string[]
  devices?: string[]
  include?: string[]
  precision?: string
  history?: boolean | string
  until?: string
  for?: string
  created?: string
}

export const SHARE_ORDER: (keyof ShareEntry)[] = ['id', 'from', 'to', 'devices', 'include', 'precision', 'history', 'until', 'for', 'created']

const HEADER = ' Sharing rules: who sees whom. The language is explained in README.md in this directory.\n' +
  ' The hub applies changes within 2 seconds; a file with a mistake is refused (see the hub log)\n and the previous rules stay in force.'

const OUT = { flowCollectionPadding: false, lineWidth: 0 } as const

/** Replaces `file` with `text` so that no reader ever sees half of it; keeps the file's mode. */
export function writeAtomic(file: string, text: string): void {
  let mode = 0o644
  try { mode = statSync(file).mode & 0o777 } catch { /* new file */ }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  const fd = openSync(tmp, 'w', mode)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally { closeSync(fd) }
  renameSync(tmp, file)
}

function load(text: string, file: string): Document {
  if (text.trim() === '') {
    const doc = new Document({})
    doc.commentBefore = HEADER
    return doc
  }
  const { doc } = parseRulesDocument(text, file)
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) doc.contents = doc.createNode({}) as Node as never
  return doc
}

function seq(doc: Document, key: string): YAMLSeq {
  let s = doc.get(key, true)
  if (!isSeq(s)) {
    s = doc.createNode([]) as YAMLSeq
    doc.set(key, s)
  }
  return s as YAMLSeq
}

function entryNode(doc: Document, e: ShareEntry): YAMLMap {
  const ordered: Record<string, unknown> = {}
  for (const k of SHARE_ORDER) if (e[k] !== undefined) ordered[k] = e[k]
  const node = doc.createNode(ordered) as YAMLMap
  for (const p of node.items) if (isSeq(p.value)) p.value.flow = true
  return node
}

/** The `shares:` entry with this id (as rules-file.ts computes ids), or undefined. */
function findShare(doc: Document, id: string): { list: YAMLSeq; index: number; node: YAMLMap } | undefined {
  const list = doc.get('shares', true)
  if (!isSeq(list)) return undefined
  const taken = new Set<string>()
  for (const [index, node] of list.items.entries()) {
    if (!isMap(node)) continue
    const explicit = node.get('id')
    if (shareId(node.toJSON(), explicit === undefined ? undefined : String(explicit), taken) === id) return { list, index, node }
  }
  return undefined
}

export function addShare(text: string, file: string, e: ShareEntry): string {
  const doc = load(text, file)
  seq(doc, 'shares').items.push(entryNode(doc, e))
  return doc.toString(OUT)
}

/**
 * Sets or (for undefined) removes keys of one share, keeping its comments; null when no share has
 * that id (it was removed or changed by someone else meanwhile).
 */
export function changeShare(text: string, file: string, id: string, patch: Partial<Record<keyof ShareEntry, unknown>>): string | null {
  const doc = load(text, file)
  const found = findShare(doc, id)
  if (!found) return null
  const { node } = found
  if (!node.has('id')) node.items.unshift(doc.createPair('id', id) as never)
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) { node.delete(k); continue }
    const value = doc.createNode(v)
    if (isSeq(value)) value.flow = true
    node.set(k, value)
  }
  return doc.toString(OUT)
}

export function removeShare(text: string, file: string, id: string): string | null {
  const doc = load(text, file)
  const found = findShare(doc, id)
  if (!found) return null
  const { list, index, node } = found
  // yaml hangs the comment above the first entry on the list itself; it belongs to that entry.
  if (index === 0 && !node.commentBefore) list.commentBefore = undefined
  list.items.splice(index, 1)
  return doc.toString(OUT)
}

/** Adds people (once each) and shares, as `acl import` does. */
export function addRules(text: string, file: string, people: string[], shares: ShareEntry[], comment?: string): string {
  const doc = load(text, file)
  if (people.length > 0) {
    const list = seq(doc, 'people')
    if (list.items.length === 0) list.flow = true
    const have = new Set(list.items.map((n) => String(isScalar(n) ? n.value : n)))
    for (const p of people) if (!have.has(p)) { list.items.push(doc.createNode(p)); have.add(p) }
  }
  const list = seq(doc, 'shares')
  for (const [i, e] of shares.entries()) {
    const node = entryNode(doc, e)
    if (i === 0 && comment) node.commentBefore = ' ' + comment
    list.items.push(node)
  }
  return doc.toString(OUT)
}

/**
 * Writes `created: <now>` beside every `for:` that lacks it (in shares and groups), so a time box keeps
 * counting from when it was written, across restarts. Null when there was nothing to stamp.
 */
export function stampCreated(text: string, now: number): string | null {
  if (!/^\s*for\s*:/m.test(text)) return null
  const doc = load(text, 'rules')
  const stamp = isoMinute(now - (now % 1000))
  let changed = false
  const visit = (n: unknown) => {
    if (isMap(n) && n.has('for') && !n.has('created')) { n.set('created', stamp); changed = true }
  }
  const shares = doc.get('shares', true)
  if (isSeq(shares)) shares.items.forEach(visit)
  const groups = doc.get('groups', true)
  if (isMap(groups)) for (const p of groups.items) visit(p.value)
  return changed ? doc.toString(OUT) : null
}
