/** Where an OwnTracks message came from: `<base>/<user>/<device>[/<subtopic>]`. */
export interface DeviceTopic {
  user: string
  device: string
  /** '' for the device topic itself, else e.g. 'event', 'info', 'cmd', 'waypoints'. */
  subtopic: string
}

/** Every `_type` the apps and the hub speak (owntracks-protocol.md). */
export type OwnTracksType =
  | 'location' | 'transition' | 'waypoint' | 'waypoints' | 'card' | 'lwt' | 'cmd'
  | 'configuration' | 'steps' | 'beacon' | 'status' | 'encrypted' | 'request'

/** A validated, normalised payload. Unknown fields are kept as published. */
export type OwnTracksMessage = { _type: OwnTracksType } & Record<string, unknown>

export interface Location extends Record<string, unknown> {
  _type: 'location'
  lat: number
  lon: number
  tst: number
}

export type DecodeResult =
  | { ok: true; message: OwnTracksMessage; normalised: string[] }
  | { ok: false; reason: string }
