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

  constructor(private readonly stampOf: (user: string) => string | undefined, private readonly now: () => number = Date.now, private readonly sync?: SessionSync) {}

  /** A session another node of the cluster opened. */
  adopt(key: string, s: Session): void { this.sessions.set(key, s) }

  /** A session another node of the cluster ended. */
  forget(key: string): void { this.sessions.delete(key) }

  /** Opens a session; returns the cookie value (only the browser keeps it) and the session. */
  create(user: string): { id: string; session: Session } {
    const stamp = this.stampOf(user)
    if (stamp === undefined) throw new Error(`no user '${user}'`)
    if (this.sessions.size >= MAX_SESSIONS) this.sweep(true)
    const id = token()
    const t = this.now()
    const session: Session = { user, csrf: token(), created: t, seen: t, stamp }
    this.sessions.set(keyOf(id), session)
    this.sync?.saved(keyOf(id), session)
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
      this.sessions.delete(k)
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
    this.sessions.delete(keyOf(id))
    this.sync?.deleted(keyOf(id))
  }

  get size(): number { return this.sessions.size }

  /** Drops expired sessions; when `full`, also the least recently used tenth. */
  private sweep(full: boolean): void {
    const t = this.now()
    for (const [k, s] of this.sessions) if (t - s.seen > IDLE_MS || t - s.created > MAX_AGE_MS) this.sessions.delete(k)
    if (!full || this.sessions.size < MAX_SESSIONS) return
    const oldest = [...this.sessions].sort((a, b) => a[1].seen - b[1].seen).slice(0, MAX_SESSIONS / 10)
    for (const [k] of oldest) this.sessions.delete(k)
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
