import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * The browser's QR code encoder, from the installed `qrcode` package. It ships CommonJS only (its
 * prebuilt browser file is no longer published), and the map stays build-free, so the hub wraps the
 * package's browser entry and every module it requires into one script, each module in a function the
 * way Node runs it, joined by a tiny require(). The script defines `window.QRCode` (toCanvas, toString).
 * The QR code is made in the browser because it may hold the phone's password, which never leaves it.
 */
export function qrcodeBrowserScript(): string {
  const req = createRequire(import.meta.url)
  const entry = join(dirname(req.resolve('qrcode/package.json')), 'lib', 'browser.js')
  const modules = new Map<string, { id: number; source: string; deps: Record<string, number> }>()

  const visit = (file: string): number => {
    const known = modules.get(file)
    if (known) return known.id
    const m = { id: modules.size, source: readFileSync(file, 'utf8'), deps: {} as Record<string, number> }
    modules.set(file, m)
    const resolveFrom = createRequire(file)
    for (const [, spec] of m.source.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      m.deps[spec] = visit(resolveFrom.resolve(spec))
    }
    return m.id
  }
  visit(entry)

  const list = [...modules.values()]
  return [
    '/* qrcode (MIT, https://github.com/soldair/node-qrcode) and dijkstrajs (MIT), wrapped by owntracks-hub */',
    '(function () {',
    'var defs = [',
    list.map((m) => `function (module, exports, require) {\n${m.source}\n}`).join(',\n'),
    '];',
    `var deps = ${JSON.stringify(list.map((m) => m.deps))};`,
    'var cache = [];',
    'function load(id) {',
    '  if (cache[id]) return cache[id].exports;',
    '  var m = cache[id] = { exports: {} };',
    '  defs[id](m, m.exports, function (spec) { return load(deps[id][spec]); });',
    '  return m.exports;',
    '}',
    'window.QRCode = load(0);',
    '})();',
    '',
  ].join('\n')
}
