import { createRequire } from 'node:module'

/*
 * mqtt-packet, which parses and writes every MQTT packet, traces each step through the `debug` package:
 * some fifty calls per packet. With tracing off each call still builds its arguments' array before it
 * finds out it is off, and at a steady 1,000 messages a second that was a tenth of everything the hub
 * allocated (bench/RESULTS.md). So, when DEBUG names no namespace at all (the debug package's own switch,
 * read as it reads it), the `debug` that mqtt-packet loads is one whose functions do nothing. With DEBUG
 * set, nothing is replaced: `DEBUG=mqtt-packet:* npx owntracks-hub serve` traces the packets as before.
 *
 * It must be evaluated before mqtt-packet is first required: cli.ts imports this module first.
 */

type Noop = (() => void) & { enabled: boolean; namespace: string; extend(sub: string, delimiter?: string): Noop; destroy(): boolean; log(): void }

/** debug's API, doing nothing: createDebug(namespace) and what packages read or call on it. */
function createDebug(namespace: string): Noop {
  const d = (() => {}) as Noop
  d.enabled = false
  d.namespace = namespace
  d.extend = (sub, delimiter = ':') => createDebug(namespace + delimiter + sub)
  d.destroy = () => true
  d.log = () => {}
  return d
}
Object.assign(createDebug, {
  enable() {}, disable: () => '', enabled: () => false, coerce: (v: unknown) => v, formatters: {}, names: [], skips: [],
  humanize: (ms: number) => `${ms}ms`, selectColor: () => 0, colors: [], inspectOpts: {}, log() {}, formatArgs() {},
  save() {}, load: () => undefined, useColors: () => false, init() {}, destroy() {},
})
Object.assign(createDebug, { debug: createDebug, default: createDebug })

/** Puts the no-op `debug` where mqtt-packet's require('debug') finds it, unless DEBUG is set. */
function quietDebug(debugEnv: string | undefined): void {
  if (debugEnv) return
  const fromPacket = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'))
  const path = fromPacket.resolve('debug')
  // A module already loaded (a test that imported mqtt-packet before) keeps the debug it has.
  if (!fromPacket.cache[path]) fromPacket.cache[path] = { id: path, filename: path, loaded: true, exports: createDebug, children: [], paths: [] } as unknown as NodeJS.Module
}

quietDebug(process.env.DEBUG)
