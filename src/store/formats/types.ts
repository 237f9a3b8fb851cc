/** The served form of a location: the stored payload after the viewer's transform, plus isotst, disptst, ghash. */
export type Point = Record<string, unknown>

/** Whose track is being written, and which fields the caller asked for (`fields=`). */
export interface Track {
  user: string
  device: string
  fields?: string[]
}

/**
 * One output format of `locations`, written piece by piece so a year of points streams: `open` goes
 * out before the first point is read, `point` once per point (null skips it: a format may need
 * coordinates or a `poi`), `close` after the last, when the count is known.
 */
export interface Format {
  contentType: string
  open(t: Track): string
  /** `n` is how many points this format has written so far (for separators and numbering). */
  point(p: Point, n: number, t: Track): string | null
  close(n: number, t: Track): string
}

/** lat/lon as numbers, or null when a point cannot be placed on a map. */
export function coordinates(p: Point): { lat: number; lon: number } | null {
  return typeof p.lat === 'number' && typeof p.lon === 'number' ? { lat: p.lat, lon: p.lon } : null
}
