import { statSync } from 'node:fs'
import { loadConfig } from '../config.js'
import { readGpx } from '../store/gpx-reader.js'
import { importRecord, isSkipped, type Skipped } from '../store/import-record.js'
import { ImportError, listRecorderStore, readRecorderStore } from '../store/recorder-store.js'
import type { HistoryRecord } from '../store/types.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'
import { linkHistory, type HubLink } from './hub-link.js'
import { Progress } from './progress.js'

const HOW = 'Works whether or not the hub runs: a running hub takes the records over its control socket (<data>/control.sock), otherwise they go straight into <data>/history. Running it again adds nothing twice. With --postgres URL (or OTHUB_POSTGRES), into a cluster\'s history, which every node serves at once.'

export const importSpecs: Record<string, CommandSpec> = {
  recorder: {
    name: 'import recorder',
    usage: 'import recorder STORE_DIR [options]',
    summary: `Imports an OwnTracks Recorder store: rec/ (every stored message), last/, cards/ and waypoints/. Lines the hub would not have stored (not JSON, invalid, cmd) are counted and skipped. ${HOW}`,
    options: ['topicBase'],
  },
  gpx: {
    name: 'import gpx',
    usage: 'import gpx FILE --user USER --device DEVICE [options]',
    summary: `Imports the track points, route points and waypoints of a GPX file as locations of one device; points without a <time> are skipped. ${HOW}`,
    options: ['topicBase'],
    extra: {
      user: { type: 'string', help: 'whose device the points belong to' },
      device: { type: 'string', help: 'the device the points belong to' },
    },
  },
}

type Item = HistoryRecord | (Skipped & { where: string })

/** What an import read, stored and skipped, for the summary. */
class Tally {
  readonly read = new Map<string, number>()
  added = 0
  present = 0
  readonly skipped = new Map<string, { n: number; first?: string }>()
  readonly devices = new Set<string>()

  skip(reason: string, where?: string, n = 1): void {
    const s = this.skipped.get(reason) ?? { n: 0, first: where }
    s.n += n
    this.skipped.set(reason, s)
  }

  get total(): number { return [...this.read.values()].reduce((a, b) => a + b, 0) }

  summary(what: string, via: string): string {
    const types = [...this.read].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${n} ${t}`).join(', ')
    const users = new Set([...this.devices].map((d) => d.split('/')[0]))
    let out = `Imported ${what} into ${via}: ${this.total} messages (${types || 'none'}) of ${users.size} users, ${this.devices.size} devices.\n`
    out += `  ${this.added} new, ${this.present} already there.\n`
    const skipped = [...this.skipped].sort((a, b) => b[1].n - a[1].n)
    if (skipped.length) {
      out += `Skipped ${skipped.reduce((a, [, s]) => a + s.n, 0)}:\n`
      for (const [reason, s] of skipped) out += `  ${s.n} × ${reason}${s.first ? ` (first: ${s.first})` : ''}\n`
    }
    return out
  }
}

const BATCH = 2000

/** Feeds the items to the history in batches, counting as it goes. */
async function store(link: HubLink, items: AsyncIterable<Item>, tally: Tally, tick: () => void): Promise<void> {
  let batch: HistoryRecord[] = []
  const flush = async () => {
    if (batch.length === 0) return
    const r = await link.writeNew(batch)
    tally.added += r.added
    tally.present += r.present
    for (const [reason, n] of Object.entries(r.skipped)) tally.skip(`refused by the hub: ${reason}`, undefined, n)
    batch = []
  }
  for await (const item of items) {
    if (isSkipped(item)) { tally.skip(item.skip, item.where); continue }
    tally.read.set(item.message._type, (tally.read.get(item.message._type) ?? 0) + 1)
    tally.devices.add(`${item.user}/${item.device}`)
    batch.push(item)
    if (batch.length >= BATCH) { await flush(); tick() }
  }
  await flush()
}

export async function importCmd(sub: string, p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  const source = p.positionals[0]
  if (!source) throw new UsageError(`import ${sub} needs ${sub === 'gpx' ? 'a GPX FILE' : "the Recorder's STORE_DIR"}`)
  let items: AsyncIterable<Item>
  let total: number
  let done = 0
  if (sub === 'recorder') {
    let files
    try { files = listRecorderStore(source) } catch (err) { if (err instanceof ImportError) throw new UsageError(err.message); throw err }
    total = files.reduce((a, f) => a + f.size, 0)
    items = readRecorderStore(files, cfg.topicBase, (n) => { done = n })
  } else {
    const user = p.extra.user as string | undefined
    const device = p.extra.device as string | undefined
    if (!user || !device) throw new UsageError('import gpx needs --user USER and --device DEVICE: whose track it is')
    const st = statSync(source, { throwIfNoEntry: false })
    if (!st?.isFile()) throw new UsageError(`${source} is not a file`)
    total = st.size
    items = gpxItems(source, user, device, cfg.topicBase, (n) => { done = n })
  }
  const link = await linkHistory(cfg)
  const tally = new Tally()
  const progress = new Progress(total)
  try {
    await store(link, items, tally, () => progress.update(done, `${tally.total} messages`))
  } finally {
    progress.finish()
    await link.close()
  }
  process.stdout.write(tally.summary(source, link.via))
}

async function* gpxItems(file: string, user: string, device: string, base: string, progress: (bytes: number) => void): AsyncGenerator<Item> {
  for await (const pt of readGpx(file, progress)) {
    if (!Number.isFinite(pt.lat) || !Number.isFinite(pt.lon)) { yield { skip: 'no usable lat/lon', where: pt.where }; continue }
    if (pt.tst === undefined) { yield { skip: 'no <time>: a location needs the time of its fix', where: pt.where }; continue }
    const loc = { _type: 'location', lat: pt.lat, lon: pt.lon, tst: pt.tst, ...(pt.alt === undefined ? {} : { alt: pt.alt }), tid: device.slice(-2) }
    const r = importRecord(user, device, loc, base)
    yield isSkipped(r) ? { ...r, where: pt.where } : r
  }
}
