import type { Identity } from './access.js'
import type { Share } from './types.js'

/*
 * Who may edit which share: the owner of the devices, or an admin. Each check answers why not, in words
 * the person can act on, or null when they may. The API turns a refusal into a 403.
 */

/** Creating a share of `from`'s devices (an admin may share on someone's behalf). */
export function whyNotCreate(who: Identity, admin: boolean, from: string | null): string | null {
  if (from === null) return 'anonymous clients cannot share'
  if (!admin && from !== who.user) return `you may share only your own devices (from: ${who.user}); ask ${from} or an admin`
  return null
}

/** Changing or revoking `share`: a share to you can only be changed by its owner or an admin. */
export function whyNotChange(who: Identity, admin: boolean, share: Share): string | null {
  return admin || share.from === who.user ? null : `only ${share.from} or an admin may change the share ${share.id}`
}

/** Handing `share` over to another owner (`from`), which only an admin may do. */
export function whyNotHandOver(admin: boolean, share: Share, from: string | undefined): string | null {
  return from === undefined || from === share.from || admin ? null : `you may not hand ${share.from}'s share to ${from}`
}
