import type { Identity } from '../access/access.js'
import type { AlertRule } from './types.js'

/*
 * Who may edit which place or alert, with the rules of shares: an admin may do anything; anyone else
 * keeps places of their own, and alerts about themselves or, to themselves, about someone whose devices
 * they may see. Each check answers why not, in words the person can act on, or null when they may. The
 * API turns a refusal into a 403.
 */

/** Adding, changing or removing a place owned by `owner`. */
export function whyNotOwn(who: Identity, admin: boolean, owner: string): string | null {
  return admin || owner === who.user ? null : `only ${owner} or an admin may change ${owner}'s places`
}

/**
 * Adding an alert about `about` to `to`: about someone else, it goes to the one asking only, without
 * webhooks, and only about someone whose devices they may see anyway (`sees`).
 */
export function whyNotAlert(who: Identity, admin: boolean, a: { about: string; to: string[]; webhook?: unknown }, sees: (user: string) => boolean): string | null {
  if (admin || a.about === who.user) return null
  if (a.to.length !== 1 || a.to[0] !== who.user || a.webhook !== undefined) return `an alert about ${a.about} made by ${who.user} goes to ${who.user} only, without webhooks`
  if (!sees(a.about)) return `you may not see ${a.about}'s devices`
  return null
}

/** Removing an alert: the person it is about, its only receiver, or an admin. */
export function whyNotRemoveAlert(who: Identity, admin: boolean, a: AlertRule): string | null {
  return admin || a.about === who.user || (a.to.length === 1 && a.to[0] === who.user) ? null : `only ${a.about}, its receiver or an admin may remove alert ${a.id}`
}

/** Sending `user`'s places to their phones (setWaypoints). */
export function whyNotSend(who: Identity, admin: boolean, user: string): string | null {
  return admin || user === who.user ? null : `only ${user} or an admin may send ${user}'s places to their phones`
}
