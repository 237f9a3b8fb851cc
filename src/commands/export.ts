import { createWriteStream, statSync, unlinkSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { loadConfig } from '../config.js'
import { FORMATS, formatByName } from '../store/formats/index.js'
import { TimeError, parseTime } from '../owntracks/time.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'
import { linkHistory } from './hub-link.js'

export const exportSpec: CommandSpec = {
  name: 'export',
  usage: 'export --user USER --device DEVICE [--from TIME] [--to TIME] [--format gpx|geojson|csv|json] [-o FILE]',
  summary: "Writes one device's history in a Recorder API format, to stdout or a file: the same bytes GET /api/0/locations gives an admin. Without --from/--to, all of it. Works whether or not the hub runs (through its control socket, or straight from <data>/history).",
  options: [],
  extra: {
    user: { type: 'string', help: 'whose device' },
    device: { type: 'string', help: 'which device' },
    from: { type: 'string', help: 'start (UTC): YYYY-MM-DDTHH:MM:SS, …THH:MM, …THH, YYYY-MM-DD, YYYY-MM, or epoch seconds' },
    to: { type: 'string', help: 'end (UTC), same forms; a partial date means its end (--to 2024-05 is all of May)' },
    format: { type: 'string', help: `gpx, geojson, csv or json (default); also ${Object.keys(FORMATS).filter((f) => !['gpx', 'geojson', 'csv', 'json'].includes(f)).join(', ')}` },
    output: { type: 'string', short: 'o', help: 'write to this file instead of stdout' },
  },
}

/** The end of time for an unbounded export: the largest tst the store's keys hold. */
const END = 99_999_999_999

export async function exportCmd(p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  const user = p.extra.user as string | undefined
  const device = p.extra.device as string | undefined
  if (!user || !device) throw new UsageError('export needs --user USER and --device DEVICE')
  const format = (p.extra.format as string | undefined) ?? 'json'
  if (!formatByName(format)) throw new UsageError(`--format ${format}: use one of ${Object.keys(FORMATS).join(', ')}`)
  let from = 0
  let to = END
  try {
    if (p.extra.from) from = parseTime('from', p.extra.from as string, false)
    if (p.extra.to) to = parseTime('to', p.extra.to as string, true)
  } catch (err) {
    if (err instanceof TimeError) throw new UsageError(err.message.replace(/^parameter '(\w+)'/, '--$1'))
    throw err
  }
  if (from > to) throw new UsageError('--from is after --to')
  const link = await linkHistory(cfg, { mustExist: true })
  const file = p.extra.output as string | undefined
  try {
    const body = await link.exportStream({ user, device, from, to, format })
    if (!file) { await pipeline(body, process.stdout); return }
    try {
      await pipeline(body, createWriteStream(file))
    } catch (err) {
      try { unlinkSync(file) } catch { /* never created */ }
      throw err
    }
    process.stderr.write(`Exported ${user}/${device} as ${format} to ${file} (${statSync(file).size} bytes, from ${link.via}).\n`)
  } finally {
    await link.close()
  }
}
