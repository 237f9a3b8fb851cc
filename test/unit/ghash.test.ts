import { test } from 'node:test'
import assert from 'node:assert/strict'
import ngeohash from 'ngeohash'
import { ghash } from '../../src/geo/ghash.js'

test('the remembered geohash cell gives what ngeohash gives, in a cell, across its edges and off the map', () => {
  const points: [number, number][] = []
  // a walk of ~10 m steps (one cell after another, often the same one), then jumps around the world
  for (let i = 0; i < 20_000; i++) points.push([52.5 + i * 9e-5, 13.4 + i * 7e-5])
  let seed = 7
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647
  for (let i = 0; i < 20_000; i++) points.push([rnd() * 180 - 90, rnd() * 360 - 180])
  // every edge and corner of a few cells, and a hair either side, each asked right after the cell's
  // centre (so from the remembered cell): an edge belongs to the cell below it or to its west
  for (const h of ['u33dc0r', 'u33dc0p', '0000000', 'zzzzzzz', 's000000', '7zzzzzz']) {
    const [minLat, minLon, maxLat, maxLon] = ngeohash.decode_bbox(h)
    for (const lat of [minLat, maxLat, (minLat + maxLat) / 2]) {
      for (const lon of [minLon, maxLon, (minLon + maxLon) / 2]) {
        for (const [dl, dn] of [[0, 0], [1e-12, 0], [-1e-12, 0], [0, 1e-12], [0, -1e-12]]) points.push([(minLat + maxLat) / 2, (minLon + maxLon) / 2], [lat + dl, lon + dn])
      }
    }
  }
  points.push([-90, -180], [90, 180], [0, 0], [NaN, 1], [1, NaN], [91, 0], [0, 181], [-0, -0])
  for (const [lat, lon] of points) {
    assert.equal(ghash(lat, lon), ngeohash.encode(lat, lon, 7), `${lat},${lon}`)
    // the same point again, now from the remembered cell
    assert.equal(ghash(lat, lon), ngeohash.encode(lat, lon, 7), `${lat},${lon} again`)
  }
})
