/**
 * Types worth keeping. `configuration` holds the phone's passwords; `cmd` (to the phone) and `request` (from
 * it: tours, answered on its cmd topic) are transient: none of the three is kept.
 */
export const KEPT = new Set(['location', 'transition', 'waypoint', 'waypoints', 'card', 'lwt', 'status', 'steps', 'beacon', 'encrypted'])
