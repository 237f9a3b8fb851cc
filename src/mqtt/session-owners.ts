import type { Level } from 'level'
import type { Logger } from '../log.js'

/** The owner of anonymous connections' client ids (a user name is never empty). */
export const ANONYMOUS = ''

const PREFIX = 'owner:'

export type Claim = { ok: true } | { ok: false; owner: string }

/**
 * Which user a client id belongs to. MQTT keys a session by client id alone: whoever connects with an id
 * in use disconnects its holder, and with clean session 0 takes over its persistent session (its
 * subscriptions and queued messages). Here a client id belongs to the first user who holds it: while that
 * user is connected with it, or has a persistent session under it, any other user is refused with
 * CONNACK 0x02 (identifier rejected). The same user may always take over their own session, as MQTT
 * requires. Owners of persistent sessions are kept in the broker database (`owner:<client id>` → user),
 * so a restart does not free them; a clean-session connection holds its id only while connected.
 *
 * This is the one place that decides whether a connection may have the session its client id names.
 */
export class SessionOwners {
  /** Owners of persistent sessions. */
  private readonly persistent = new Map<string, string>()
  /** Owners of the ids connected now, with the connection holding each (a takeover replaces it). */
  private readonly live = new Map<string, { user: string; conn: object }>()

  private constructor(private readonly db: Level<string, Buffer> | undefined, private readonly log: Logger) {}

  /**
   * Owners kept in the broker's database. Without one (a cluster node, whose broker state is in Redis)
   * they are this node's memory only: README.md, "When one machine is not enough", says what that leaves open.
   */
  static async load(db: Level<string, Buffer> | undefined, log: Logger): Promise<SessionOwners> {
    const o = new SessionOwners(db, log)
    if (db) for await (const [k, v] of db.iterator({ gte: PREFIX, lt: 'owner;' })) o.persistent.set(k.slice(PREFIX.length), v.toString('utf8'))
    return o
  }

  /** Who holds `clientId` now, if anyone. */
  ownerOf(clientId: string): string | undefined {
    return this.live.get(clientId)?.user ?? this.persistent.get(clientId)
  }

  /**
   * Decides at login whether `user` (ANONYMOUS for none) may have the session of `clientId`, and if so
   * records them as its owner. `clean` is the CONNECT's clean-session flag.
   */
  claim(clientId: string, user: string, clean: boolean, conn: object): Claim {
    const owner = this.ownerOf(clientId)
    if (owner !== undefined && owner !== user) return { ok: false, owner }
    this.live.set(clientId, { user, conn })
    const stored = this.persistent.get(clientId)
    if (!clean && stored !== user) {
      this.persistent.set(clientId, user)
      this.db?.put(PREFIX + clientId, Buffer.from(user, 'utf8'))?.catch((err: Error) => this.log.error(`Cannot record the owner of client id ${clientId}: ${err.message}`))
    } else if (clean && stored !== undefined) {
      // A clean session ends the persistent one (aedes deletes it): the id is free once this connection goes.
      this.persistent.delete(clientId)
      this.db?.del(PREFIX + clientId)?.catch((err: Error) => this.log.error(`Cannot forget the owner of client id ${clientId}: ${err.message}`))
    }
    return { ok: true }
  }

  /** A connection ended: a clean-session id is free again (unless a newer connection holds it). */
  release(clientId: string, conn: object): void {
    const l = this.live.get(clientId)
    if (l?.conn === conn) this.live.delete(clientId)
  }
}
