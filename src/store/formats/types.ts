/** The served form of a location: the stored payload after the viewer's transform, plus isotst, disptst, ghash. */
export type Point = Record<string, unknown>

/** Whose track is being written, and which fields the caller asked for (`fields=`). */
export interface Track {
  user: string
  device: string
  fields?: string[]
}

/**
 * A served point as the text JSON.stringify(point) makes of it, in pieces: `{head,body,tail}` (the empty
 * ones and their commas left out). `body` is the stored location's own JSON without its braces, as it was
 * stored; `head` the place names the point gets before its fields, `tail` the Recorder's time fields and
 * geohash after them. Only for a viewer who sees the stored location as published: then the text is
 * spliced, not parsed and serialised again for every point of a year.
 */
export class PointText {
  constructor(
    readonly head: string,
    readonly body: string,
    readonly tail: string,
    /** The stored location's JSON. */
    readonly stored: string,
    /** Its lat and lon when they are numbers. */
    readonly lat: number | undefined,
    readonly lon: number | undefined,
    private readonly serve: (loc: Record<string, unknown>) => Point,
    private parsed?: Record<string, unknown>,
  ) {}

  /**
   * Where `"lat":…` and `"lon":…` are in `body` (the key's opening quote, and the comma or end after
   * the value), when a scan of the text found them; -1 otherwise. GeoJSON cuts them out of the properties.
   */
  latAt = -1
  latEnd = -1
  lonAt = -1
  lonEnd = -1

  /** The stored location, parsed (only when a format asks: a flat one is spliced without). */
  get loc(): Record<string, unknown> { return (this.parsed ??= JSON.parse(this.stored) as Record<string, unknown>) }

  /** The same point as an object, for a format that writes it field by field. */
  point(): Point { return this.serve(this.loc) }

  /** `{head,body,tail}` with `body` in place of the stored one (a format that leaves fields out). */
  json(body = this.body): string {
    let s = this.head
    if (body) s = s ? `${s},${body}` : body
    if (this.tail) s = s ? `${s},${this.tail}` : this.tail
    return `{${s}}`
  }
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
  /**
   * What point(p.point(), n, t) returns, written from the text pieces; undefined when this format
   * cannot (then point() is asked). A format without it is always asked point().
   */
  spliced?(p: PointText, n: number, t: Track): string | null | undefined
  close(n: number, t: Track): string
}

/** lat/lon as numbers, or null when a point cannot be placed on a map. */
export function coordinates(p: Point): { lat: number; lon: number } | null {
  return typeof p.lat === 'number' && typeof p.lon === 'number' ? { lat: p.lat, lon: p.lon } : null
}
