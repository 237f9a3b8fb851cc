import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A signed-in browser. `csrf` must accompany every state-changing request made with this session's cookie. */
export interface Session {
  user: string
  csrf: string
  created: number
  seen: number
  /** The user's password stamp at sign-in: a changed password ends the session. */
  stamp: string
}

export const SESSION_COOKIE = 'othub_session'
/** A session not used for a week ends; none lives longer than 30 days. */
export const IDLE_MS = 7 * 24 * 3600_000
export const MAX_AGE_MS = 30 * 24 * 3600_000
const MAX_SESSIONS = 10_000

const token = () => randomBytes(32).toString('base64url')
// Keyed by a hash of the cookie value, so the map never compares secrets byte by byte.
const keyOf = (id: string) => createHash('sha256').update(id).digest('base64url')

/**
 * Sessions of the map, in memory only: a restart signs everyone out (the safe direction), and no session
 * secret ever reaches the disk. A session ends on sign-out, after a week unused, after 30 days, or when its
 * user is removed or changes password.
 */
/** Where a cluster's nodes share their sessions (cluster/sessions.ts); keys are hashes of cookies. */
export interface SessionSync {
  saved(key: string, s: Session): void
  deleted(key: string): void
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>()
  /** Each user's session keys, oldest sign-in first. */
  private readonly byUser = new Map<string, Set<string>>()

  constructor(
    private readonly stampOf: (user: string) => string | undefined,
    private readonly now: () => number = Date.now,
    /** Sessions one user may have: one more sign-in ends that user's least recently used (nobody else's). */
    readonly maxPerUser = 100,
    private readonly sync?: SessionSync,
  ) {}

  /** A session another node of the cluster opened. */
  adopt(key: string, s: Session): void {
    this.sessions.set(key, s)
    const mine = this.byUser.get(s.user) ?? new Set<string>()
    mine.add(key)
    this.byUser.set(s.user, mine)
  }

  /** A session another node of the cluster ended. */
  forget(key: string): void { this.drop(key) }

  /** Opens a session; returns the cookie value (only the browser keeps it) and the session. */
  create(user: string): { id: string; session: Session } {
    const stamp = this.stampOf(user)
    if (stamp === undefined) throw new Error(`no user '${user}'`)
    const mine = this.byUser.get(user) ?? new Set<string>()
    this.byUser.set(user, mine)
    while (mine.size >= Math.max(1, this.maxPerUser)) {
      const k = this.leastRecent(mine)
      this.drop(k)
      this.sync?.deleted(k)
    }
    if (this.sessions.size >= MAX_SESSIONS) this.sweep(true)
    const id = token()
    const t = this.now()
    const session: Session = { user, csrf: token(), created: t, seen: t, stamp }
    const k = keyOf(id)
    this.sessions.set(k, session)
    mine.add(k)
    this.sync?.saved(k, session)
    return { id, session }
  }

  /** The live session for a cookie value, or undefined (unknown, expired, user gone, password changed). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined
    const k = keyOf(id)
    const s = this.sessions.get(k)
    if (!s) return undefined
    const t = this.now()
    if (t - s.seen > IDLE_MS || t - s.created > MAX_AGE_MS || this.stampOf(s.user) !== s.stamp) {
      this.drop(k)
      return undefined
    }
    s.seen = t
    return s
  }

  /** The session named by a Cookie header, if any. */
  fromCookie(header: string | undefined): Session | undefined {
    return this.get(cookieValue(header, SESSION_COOKIE))
  }

  delete(id: string | undefined): void {
    if (!id) return
    this.drop(keyOf(id))
    this.sync?.deleted(keyOf(id))
  }

  get size(): number { return this.sessions.size }

  /** How many sessions `user` has open. */
  countOf(user: string): number { return this.byUser.get(user)?.size ?? 0 }

  private leastRecent(keys: Set<string>): string {
    let oldest: string | undefined
    let seen = Infinity
    for (const k of keys) {
      const s = this.sessions.get(k)
      if (!s) return k
      if (s.seen < seen) { seen = s.seen; oldest = k }
    }
    return oldest!
  }

  private drop(k: string): void {
    const s = this.sessions.get(k)
    this.sessions.delete(k)
    const mine = s && this.byUser.get(s.user)
    if (!mine) return
    mine.delete(k)
    if (mine.size === 0) this.byUser.delete(s.user)
  }

  /** Drops expired sessions; when `full`, also enough of the busiest users' least recently used. */
  private sweep(full: boolean): void {
    const t = this.now()
    for (const [k, s] of this.sessions) if (t - s.seen > IDLE_MS || t - s.created > MAX_AGE_MS) this.drop(k)
    if (!full || this.sessions.size < MAX_SESSIONS) return
    // Still full: the users with the most sessions give up their least recently used, so one user signing
    // in over and over never ends anyone else's.
    while (this.sessions.size >= MAX_SESSIONS * 0.9) {
      let most: Set<string> | undefined
      for (const keys of this.byUser.values()) if (!most || keys.size > most.size) most = keys
      if (!most) break
      this.drop(this.leastRecent(most))
    }
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return undefined
}

/**
 * HttpOnly: page scripts never see it. SameSite=Strict: no other site can make the browser send it.
 * Secure whenever the browser reached us over HTTPS, so it never travels in clear text afterwards.
 */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${MAX_AGE_MS / 1000}${secure ? '; Secure' : ''}`
}

export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`
}

export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
