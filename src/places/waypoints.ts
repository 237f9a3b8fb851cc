import type { CommandQueue } from '../cmd-queue.js'
import type { Logger } from '../log.js'
import type { Publish } from '../mqtt/publish.js'
import { deviceTopic } from '../owntracks/topics.js'
import type { HistoryStore } from '../store/types.js'
import { centre, enclosingRadius } from './geometry.js'
import { rid } from './hub-transitions.js'
import type { Place } from './types.js'

const round6 = (x: number) => Math.round(x * 1e6) / 1e6

/**
 * A waypoint's `tst` is how the apps tell regions apart (iOS keys them by it): a hub place keeps the same
 * one, derived from its id, so sending the places again updates the phone's regions instead of adding copies.
 */
export function placeTst(placeId: string): number {
  return 1_000_000_000 + (parseInt(rid(placeId).slice(4), 16) % 500_000_000)
}

/**
 * The booklet's remote configuration: `{"_type":"cmd","action":"setWaypoints","waypoints":{"_type":
 * "waypoints","waypoints":[…]}}`. The apps' regions are circles, so a polygon goes as the circle around
 * it; its `desc` is the place's name, so the phone's own transitions name the same place.
 */
export function setWaypointsCommand(places: Place[]): Record<string, unknown> {
  return {
    _type: 'cmd', action: 'setWaypoints',
    waypoints: {
      _type: 'waypoints',
      waypoints: places.map((p) => {
        const c = centre(p.shape)
        return { _type: 'waypoint', desc: p.name, lat: round6(c.lat), lon: round6(c.lon), rad: Math.round(enclosingRadius(p.shape)), tst: placeTst(p.id), rid: rid(p.id) }
      }),
    },
  }
}

/** Sends a person's places to each of their phones: over MQTT on `…/cmd`, and queued for HTTP mode. */
export async function sendPlacesToPhones(d: { history: HistoryStore; commands: CommandQueue; publish: Publish; base: string; log: Logger }, user: string, places: Place[], by: string): Promise<string[]> {
  const cmd = setWaypointsCommand(places)
  const payload = Buffer.from(JSON.stringify(cmd))
  const devices = d.history.devices().filter((x) => x.user === user).map((x) => x.device)
  for (const device of devices) {
    d.commands.enqueue(user, device, cmd as never)
    await d.publish({ topic: deviceTopic(user, device, 'cmd', d.base), payload, qos: 1, retain: false }, by)
  }
  d.log.info(`Sent ${places.length} place${places.length === 1 ? '' : 's'} (setWaypoints) to ${devices.map((x) => `${user}/${x}`).join(', ') || `no device of ${user} yet`} at the request of ${by}`)
  return devices
}
