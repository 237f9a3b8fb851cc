import type { Where } from '../access/types.js'

/** A named area: a circle (centre and radius) or a polygon of [lat, lon] corners. */
export type Shape =
  | { kind: 'circle'; lat: number; lon: number; radius: number }
  | { kind: 'polygon'; points: [number, number][] }

export interface Place {
  /** Stable across reloads and restarts: `owner/name`. */
  id: string
  name: string
  /** The person or group as written. */
  owner: string
  /** The people who have this place (the owner, or the group's members). */
  people: string[]
  shape: Shape
  where: Where
}

export type AlertEvent = 'enter' | 'leave'

/** Minutes after local midnight. */
export interface Span { from: number; to: number }

export interface AlertRule {
  /** A digest of what the entry says (an edit changes it): how the API names it. */
  id: string
  /** Whose places. */
  about: string
  /** Who is told (people, groups expanded). */
  to: string[]
  /** Place names of `about`; null = all of them. */
  places: string[] | null
  on: AlertEvent[]
  /** "not at one of `places` by HH:MM": minutes after local midnight, or null. */
  notArrivedBy: number | null
  /** Days of the week it applies (0 = Sunday). */
  days: number[]
  quiet: Span | null
  webhooks: string[]
  push: boolean
  where: Where
}

/** A validated acl/places.yml. */
export interface PlacesRules {
  file: string
  /** IANA zone for the times of alerts. */
  timezone: string
  /** Metres beyond the radius (or polygon edge) a fix must be to count as left. */
  margin: number
  /** Seconds a new state must last (from the first fix showing it) before it counts. */
  dwell: number
  places: Place[]
  alerts: AlertRule[]
}
