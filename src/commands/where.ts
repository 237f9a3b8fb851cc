import { loadConfig } from '../config.js'
import { controlSocketPath } from '../http/control.js'
import type { CommandSpec, Parsed } from './args.js'
import { call } from './hub-link.js'

export const whereSpecs: Record<string, CommandSpec> = {
  'days-rebuild': {
    name: 'days rebuild',
    usage: 'days rebuild',
    summary: 'Throws the stored day summaries (visits, trips, distances) away and makes them again from the history. Talks to the running hub through <data>/control.sock.',
    options: [],
  },
  'geocode-backfill': {
    name: 'geocode backfill',
    usage: 'geocode backfill',
    summary: 'Queues every place of the stored history that the geocoder (--geocoder) has not answered yet; the running hub then asks at its pace (--geocoder-rate) and caches each 150 m cell once.',
    options: [],
  },
}

async function post(data: string, path: string): Promise<Record<string, unknown>> {
  const socket = controlSocketPath(data)
  let res
  try {
    res = await call(socket, 'POST', path, '')
  } catch (err) {
    throw new Error(`the hub is not running on ${data} (no answer on ${socket}: ${(err as Error).message}); start it with 'owntracks-hub serve' first`)
  }
  let text = ''
  for await (const chunk of res) text += chunk
  const body = JSON.parse(text) as Record<string, unknown>
  if (res.statusCode !== 200) throw new Error(String(body.error ?? `the hub answered ${res.statusCode}`))
  return body
}

export async function whereCmd(which: string, p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  if (which === 'days-rebuild') {
    const r = await post(cfg.data, '/days/rebuild')
    console.log(`Rebuilt ${String(r.days)} day summaries.`)
    return
  }
  const r = await post(cfg.data, '/geocode/backfill')
  console.log(`Read ${String(r.fixes)} fixes: ${String(r.queued)} new places queued for the geocoder (${String(r.pending)} waiting, ${String(r.cached)} cached).`)
}
