import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/*
 * The rooms of src/ in the order docs/ARCHITECTURE.md gives them, lowest first. A module imports only
 * from its own room and from rooms of a lower rank; rooms of the same rank do not import each other.
 * A file directly in src/ (hub.ts, ingest.ts, …) is a room of its own, named without `.ts`.
 */
export const ROOMS: string[][] = [
  ['config', 'stats', 'watch', 'types'], // what every room uses: settings, counters, file watching
  ['log', 'cli-hint', 'quiet-debug'], // Mosquitto-style logging, as the settings ask for it; how a hint names a command; packet tracing off unless DEBUG asks
  ['owntracks', 'geo'], // the protocol: topics, payloads and their decoding, encryption, time; place names
  ['users'], // who someone is: passwords, sign-in throttling, payload keys
  ['access'], // what someone may read, write and see
  ['store'], // the history, how it is read and written out
  ['ingest', 'days'], // decode → store, for every channel; days, visits and trips derived from the history
  ['mqtt'], // the broker: connections, the hooks that apply auth, access and ingest, fan-out, publishing
  ['cards', 'cmd-queue', 'monitor', 'tours', 'bridge', 'ops'], // built on the broker and its one publish
  ['places'], // family places: who is where, the hub's transitions, setWaypoints, Home Assistant
  ['alerts'], // enter, leave and 'not arrived by', to Web Push and webhooks
  ['http'], // the Recorder API, HTTP mode, the live feed, the map
  ['tls', 'cluster'], // the TLS listeners of the broker and of HTTP; a node of a cluster
  ['hub'], // wires the rooms together, owns start and stop
  ['commands'], // the command line's commands
  ['cli'], // the entry point: picks the command
]

/** Imports that the order allows but that still cross a line the architecture draws (why in each). */
const NARROWER: { from: string; to: RegExp; unless?: RegExp; why: string }[] = [
  { from: 'commands', to: /^http\//, unless: /^http\/control\.ts$/, why: 'the command line does its work with the rooms below HTTP; it talks to a running hub only through the control socket' },
]

const SRC = normalize(join(dirname(fileURLToPath(import.meta.url)), '../../../src'))

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : []
  })
}

const roomOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file.replace(/\.d\.ts$|\.ts$/, ''))
const rankOf = new Map(ROOMS.flatMap((rooms, rank) => rooms.map((r) => [r, rank] as const)))

/** Every relative import of every module in src/, as `from → to` (paths relative to src/, .ts). */
function imports(): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = []
  for (const path of sources(SRC)) {
    const from = relative(SRC, path)
    const text = readFileSync(path, 'utf8')
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)) {
      out.push({ from, to: relative(SRC, join(dirname(path), m[1])).replace(/\.js$/, '.ts') })
    }
  }
  return out
}

function violations(): string[] {
  const bad = new Set<string>()
  for (const { from, to } of imports()) {
    const a = roomOf(from)
    const b = roomOf(to)
    if (a === b) continue
    const ra = rankOf.get(a)
    const rb = rankOf.get(b)
    if (ra === undefined || rb === undefined) { bad.add(`${from} → ${to} (room ${ra === undefined ? a : b} is not in the order)`); continue }
    if (rb >= ra) bad.add(`${from} → ${to}`)
    for (const n of NARROWER) if (a === n.from && n.to.test(to) && !n.unless?.test(to)) bad.add(`${from} → ${to}`)
  }
  return [...bad].sort()
}

describe('the import graph of src/ follows the order of the rooms (docs/ARCHITECTURE.md)', () => {
  test('every room in src/ has its place in the order, and the order names no room that is gone', () => {
    const rooms = new Set(sources(SRC).map((p) => roomOf(relative(SRC, p))))
    assert.deepEqual([...rooms].filter((r) => !rankOf.has(r)).sort(), [], 'rooms without a rank: add them to ROOMS and to docs/ARCHITECTURE.md')
    assert.deepEqual([...rankOf.keys()].filter((r) => !rooms.has(r)).sort(), [], 'ranked rooms that no longer exist')
  })

  test('no module imports from a room above it or beside it', () => {
    assert.deepEqual(violations(), [], 'imports against the order of docs/ARCHITECTURE.md')
  })

  test('the order is the one docs/ARCHITECTURE.md documents', () => {
    const doc = readFileSync(join(SRC, '../docs/ARCHITECTURE.md'), 'utf8')
    const table = [...doc.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)].map((m) => [Number(m[1]), m[2].split(',').map((s) => s.trim().replace(/`/g, ''))] as const)
    assert.deepEqual(table.map(([, rooms]) => rooms), ROOMS)
    assert.deepEqual(table.map(([n]) => n), ROOMS.map((_, i) => i + 1))
  })
})
