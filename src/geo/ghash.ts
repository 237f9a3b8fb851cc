import ngeohash from 'ngeohash'

/** The Recorder's geohash length (`ghash`), which also keys the geocoder's cache: a cell of about 150 × 150 m. */
const LENGTH = 7

/*
 * The last cell answered, as ngeohash.decode_bbox gives it. A phone's fixes follow one another in a cell
 * (it stands still most of the day), and encoding one was 5% of serving a year of points.
 */
let last = ''
let minLat = NaN, minLon = NaN, maxLat = NaN, maxLon = NaN

/**
 * ngeohash.encode(lat, lon, 7), remembered for the last cell. encode halves the box at each bit and takes
 * the upper half when the coordinate is above the middle, so the points it gives a cell are those with
 * minLat < lat ≤ maxLat and minLon < lon ≤ maxLon, and decode_bbox halves the same boxes in the same
 * order, so its bounds are those very middles. Anything else (another cell, the world's lower edge, a
 * NaN) is encoded.
 */
export function ghash(lat: number, lon: number): string {
  if (lat > minLat && lat <= maxLat && lon > minLon && lon <= maxLon) return last
  last = ngeohash.encode(lat, lon, LENGTH)
  ;[minLat, minLon, maxLat, maxLon] = ngeohash.decode_bbox(last)
  return last
}
