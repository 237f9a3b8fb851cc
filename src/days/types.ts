/** One fix as the day computations need it. */
export interface Fix { tst: number; lat: number; lon: number; acc?: number; vel?: number }

export type Mode = 'walk' | 'bike' | 'car' | 'train' | 'plane'

/** A stay of at least `minStay` within `radius` of one point. */
export interface Visit {
  lat: number
  lon: number
  /** First and last fix of the stay (epoch s). */
  from: number
  to: number
  /** Fixes inside the stay. */
  fixes: number
  cc?: string
  tzname?: string
  locality?: string
  addr?: string
}

/** The movement between two visits (or before the first / after the last of a day). */
export interface Trip {
  from: number
  to: number
  /** metres along the fixes */
  distance: number
  mode: Mode
  /** km/h: distance over duration, and the 85th percentile of the speeds between fixes */
  avgKmh: number
  topKmh: number
  fixes: number
  /** [lat, lon] of the fixes, for drawing the segment */
  path: [number, number][]
}

export interface DaySummary {
  /** YYYY-MM-DD in `tz` */
  date: string
  tz: string
  /** metres, over every fix of the day */
  distance: number
  /** seconds spent in trips */
  moving: number
  visits: number
  countries: string[]
  towns: string[]
  first?: number
  last?: number
  fixes: number
}

export interface Day { summary: DaySummary; visits: Visit[]; trips: Trip[] }

export interface StayOptions {
  /** metres a stay may wander from its centre (GPS jitter included) */
  radius: number
  /** seconds a stay must last to be a visit */
  minStay: number
  /** fixes less accurate than this (metres) are left out of stays and trips */
  maxAcc: number
}

/*
 * Defaults from the generated test week (test/helpers/days.ts): jitter of 10–40 m with jumps up to
 * 150 m, a 2-minute stop at a red light that must not count, a 6-minute school drop-off that must.
 */
export const STAY_DEFAULTS: StayOptions = { radius: 120, minStay: 5 * 60, maxAcc: 500 }
