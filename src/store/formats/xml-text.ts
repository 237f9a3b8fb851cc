/** Characters XML 1.0 forbids even when escaped (most C0 controls, lone surrogates, U+FFFE/U+FFFF). */
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Text or attribute content: payload strings are user input, so escape everything markup could use. */
export function xmlText(v: unknown): string {
  const s = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)
  return s.replace(FORBIDDEN, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** A number as xsd:decimal (GPX coordinates and elevation): never exponent notation. */
export function decimal(x: number): string {
  const s = String(x)
  return /e/i.test(s) ? x.toFixed(20).replace(/\.?0+$/, '') : s
}
