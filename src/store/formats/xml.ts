import { pick } from '../enrich.js'
import type { Format } from './types.js'
import { xmlText } from './xml-text.js'

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/**
 * The Recorder's XML: `<owntracks>` with one `<point>` per location and one element per field.
 * A field whose name is not an XML name becomes `<field name="…">` instead of being lost.
 */
export const xml: Format = {
  contentType: 'application/xml; charset=utf-8',
  open: () => '<?xml version="1.0" encoding="UTF-8"?>\n<owntracks>\n',
  point: (p, _n, t) => {
    let out = ' <point>\n'
    for (const [k, v] of Object.entries(pick(p, t.fields))) {
      if (v === undefined) continue
      out += NAME.test(k) && !/^xml/i.test(k) ? `  <${k}>${xmlText(v)}</${k}>\n` : `  <field name="${xmlText(k)}">${xmlText(v)}</field>\n`
    }
    return out + ' </point>\n'
  },
  close: () => '</owntracks>\n',
}
