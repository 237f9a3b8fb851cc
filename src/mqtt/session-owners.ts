import type { Level } from 'level'
import type { Logger } from '../log.js'

/** The owner of anonymous connections' client ids (a user name is never empty). */
export const ANONYMOUS = ''

const PREFIX = 'owner:'

export type Claim = { ok: true } | { ok: false; owner: string }

/**
 * Owners kept where every node of a cluster sees them (cluster/client-owners.ts, in PostgreSQL). Each node
 * still decides for its own connections first; this is asked next, and its answer is final.
 */
export interface SharedOwners {
  /**
   * Records `user` as the holder of `clientId` (`persistent`: its session outlives the connection) unless
   * another user holds it on any node; resolves with that other user then. Rejects when it cannot tell.
   */
  claim(clientId: string, user: string, persistent: boolean): Promise<string | undefined>
  /** The clean-session connection holding `clientId` on this node ended. */
  release(clientId: string): Promise<void>
}

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
  private readonly live = new Map<string, { user: string; conn: object; clean: boolean }>()

  private constructor(private readonly db: Level<string, Buffer> | undefined, private readonly log: Logger, private readonly shared?: SharedOwners) {}

  /**
   * Owners kept in the broker's database, or, on a cluster node (whose broker state is in Redis), in
   * `shared`, which every node asks.
   */
  static async load(db: Level<string, Buffer> | undefined, log: Logger, shared?: SharedOwners): Promise<SessionOwners> {
    const o = new SessionOwners(db, log, shared)
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
  async claim(clientId: string, user: string, clean: boolean, conn: object): Promise<Claim> {
    const owner = this.ownerOf(clientId)
    if (owner !== undefined && owner !== user) return { ok: false, owner }
    const prev = this.live.get(clientId)
    // Held here at once, so a connection of the same id that ends meanwhile does not free it.
    this.live.set(clientId, { user, conn, clean })
    if (this.shared) {
      let other: string | undefined
      try {
        other = await this.shared.claim(clientId, user, !clean)
      } catch (err) {
        this.undo(clientId, conn, prev)
        throw err
      }
      if (other !== undefined) { this.undo(clientId, conn, prev); return { ok: false, owner: other } }
      return { ok: true }
    }
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
    if (l?.conn !== conn) return
    this.live.delete(clientId)
    if (l.clean) this.shared?.release(clientId).catch((err: Error) => this.log.error(`Cannot free client id ${clientId} on the cluster: ${err.message}`))
  }

  /** A refused claim leaves the id as it was. */
  private undo(clientId: string, conn: object, prev: { user: string; conn: object; clean: boolean } | undefined): void {
    if (this.live.get(clientId)?.conn !== conn) return
    if (prev) this.live.set(clientId, prev)
    else this.live.delete(clientId)
  }
}
