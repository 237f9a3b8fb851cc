import { pino, type Logger } from 'pino'
import type { Config } from './config.js'

export type { Logger }

/**
 * Mosquitto-style text lines ("2026-11-24T22:00:01Z: New connection from …") by default, because
 * that is what OwnTracks users compare against the booklet; JSON lines for log shippers.
 * Both go through pino so levels and child bindings work the same way.
 */
export function createLogger(cfg: Pick<Config, 'logLevel' | 'logFormat'>, out: NodeJS.WritableStream = process.stdout): Logger {
  const base = { level: cfg.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }
  if (cfg.logFormat === 'json') return pino(base, pino.destination({ dest: out === process.stdout ? 1 : 2, sync: false }))
  return pino(base, { write: (line: string) => out.write(textLine(line)) })
}

const SKIP = new Set(['level', 'time', 'msg'])

function textLine(json: string): string {
  const o = JSON.parse(json) as Record<string, unknown>
  const time = String(o.time).replace(/\.\d+Z$/, 'Z')
  let extra = ''
  for (const k of Object.keys(o)) {
    if (!SKIP.has(k)) extra += ` ${k}=${typeof o[k] === 'string' ? o[k] : JSON.stringify(o[k])}`
  }
  const level = Number(o.level) >= 50 ? 'Error: ' : Number(o.level) >= 40 ? 'Warning: ' : ''
  return `${time}: ${level}${o.msg ?? ''}${extra}\n`
}
