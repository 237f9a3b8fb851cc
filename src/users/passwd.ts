import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'

/*
 * Mosquitto password files (`mosquitto_passwd`), one `name:hash` a line:
 *   $7$<iterations>$<b64 salt>$<b64 hash>  PBKDF2-HMAC-SHA512 (Mosquitto ≥ 2.0; 101 iterations by default)
 *   $6$<b64 salt>$<b64 hash>               SHA-512(password ‖ salt) (Mosquitto ≤ 1.6)
 * Salt is always 12 bytes and the hash 64, in padded standard base64; Mosquitto drops entries that
 * decode to other lengths, so we treat them as malformed too and a file we accept, Mosquitto accepts.
 */

const pbkdf2Async = promisify(pbkdf2)

const SALT_BYTES = 12
const HASH_BYTES = 64
const B64 = /^[A-Za-z0-9+/]+={0,2}$/

export async function hashPassword(password: string, iterations = 10000): Promise<string> {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`)
  const salt = randomBytes(SALT_BYTES)
  const hash = await pbkdf2Async(password, salt, iterations, HASH_BYTES, 'sha512')
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`
}

type Parsed =
  | { kind: 7; iterations: number; salt: Buffer; hash: Buffer }
  | { kind: 6; salt: Buffer; hash: Buffer }

function decode(b64: string, bytes: number): Buffer | undefined {
  if (!B64.test(b64)) return undefined
  const buf = Buffer.from(b64, 'base64')
  return buf.length === bytes ? buf : undefined
}

/** Why a stored hash is unusable, or the decoded parts. */
function parseHash(stored: string): Parsed | string {
  const parts = stored.split('$')
  if (parts[0] !== '') return 'hash must start with $7$ or $6$'
  if (parts[1] === '7') {
    if (parts.length !== 5) return 'expected $7$<iterations>$<salt>$<hash>'
    if (!/^[1-9][0-9]{0,9}$/.test(parts[2])) return `invalid iteration count '${parts[2]}'`
    const salt = decode(parts[3], SALT_BYTES)
    if (!salt) return `salt must be ${SALT_BYTES} bytes of base64`
    const hash = decode(parts[4], HASH_BYTES)
    if (!hash) return `hash must be ${HASH_BYTES} bytes of base64`
    return { kind: 7, iterations: Number(parts[2]), salt, hash }
  }
  if (parts[1] === '6') {
    if (parts.length !== 4) return 'expected $6$<salt>$<hash>'
    const salt = decode(parts[2], SALT_BYTES)
    if (!salt) return `salt must be ${SALT_BYTES} bytes of base64`
    const hash = decode(parts[3], HASH_BYTES)
    if (!hash) return `hash must be ${HASH_BYTES} bytes of base64`
    return { kind: 6, salt, hash }
  }
  return `unknown hash type '$${parts[1] ?? ''}$' (expected $7$ or $6$, as written by mosquitto_passwd)`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const p = parseHash(stored)
  if (typeof p === 'string') return false
  // Async PBKDF2 runs on the libuv pool; pbkdf2Sync would stall every connection for each login.
  const actual = p.kind === 7
    ? await pbkdf2Async(password, p.salt, p.iterations, HASH_BYTES, 'sha512')
    : createHash('sha512').update(password, 'utf8').update(p.salt).digest()
  return timingSafeEqual(actual, p.hash)
}

export interface PasswdError {
  file: string
  line: number
  reason: string
}

/**
 * Reads the format as Mosquitto 2 does: `#` in column 1 starts a comment, name and hash are trimmed,
 * a later line for the same name wins. Mosquitto skips lines without ':' silently; we report them
 * (and every other line it would drop) so a typo does not lock someone out without a word.
 */
export function parsePasswdFile(text: string, file: string): { entries: Map<string, string>; errors: PasswdError[] } {
  const entries = new Map<string, string>()
  const firstSeen = new Map<string, number>()
  const errors: PasswdError[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]
    const line = i + 1
    if (raw.trim() === '' || raw.startsWith('#')) continue
    const colon = raw.indexOf(':')
    if (colon < 0) { errors.push({ file, line, reason: "expected '<user>:<hash>'" }); continue }
    const user = raw.slice(0, colon).trim()
    // Mosquitto ignores anything after a second ':'; here it fails the hash check and is reported.
    const hash = raw.slice(colon + 1).trim()
    if (user === '') { errors.push({ file, line, reason: 'empty user name' }); continue }
    if (hash === '') { errors.push({ file, line, reason: `no password hash for user '${user}'` }); continue }
    const p = parseHash(hash)
    if (typeof p === 'string') { errors.push({ file, line, reason: `user '${user}': ${p}` }); continue }
    const earlier = firstSeen.get(user)
    if (earlier !== undefined) {
      errors.push({ file, line, reason: `user '${user}' already on line ${earlier}; this later line wins, as in Mosquitto` })
      entries.delete(user) // keep file order of the winning line
    } else {
      firstSeen.set(user, line)
    }
    entries.set(user, hash)
  }
  return { entries, errors }
}

export function formatPasswdFile(entries: Map<string, string>): string {
  let out = ''
  for (const [user, hash] of entries) {
    if (user === '' || /[:\r\n]/.test(user) || user !== user.trim()) throw new Error(`user name '${user}' cannot be stored in a Mosquitto password file`)
    if (/[:\r\n]/.test(hash) || hash !== hash.trim()) throw new Error(`password hash for '${user}' contains a line break, ':' or surrounding blanks`)
    out += `${user}:${hash}\n`
  }
  return out
}

export async function readPasswdFile(path: string): Promise<{ entries: Map<string, string>; errors: PasswdError[] }> {
  return parsePasswdFile(await readFile(path, 'utf8'), path)
}

/** Temp file in the same directory + rename, so Mosquitto or a reload never sees half a file. */
export async function writePasswdFile(path: string, entries: Map<string, string>): Promise<void> {
  const text = formatPasswdFile(entries)
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', 0o600)
  try {
    try {
      await fh.writeFile(text, 'utf8')
      // The mode given to open() is masked by the umask; the file holds hashes, so force 0600.
      await fh.chmod(0o600)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => undefined) // the original error is the one worth reporting
    throw err
  }
}

/**
 * Remembers recent successful logins so a reconnect storm (every phone at once after a restart)
 * costs one PBKDF2 per user, not one per connection. The key includes the stored hash, so changing
 * a password invalidates the entry, and a digest of the password, so the password itself is not kept.
 * Failures are never cached: a wrong password must always pay the full PBKDF2 price.
 */
export class PasswordVerifier {
  private readonly ok = new Map<string, true>()
  private readonly pending = new Map<string, Promise<boolean>>()

  private dummy?: { iterations: number; hash: string }

  constructor(
    private readonly lookup: (user: string) => string | undefined,
    private readonly maxEntries = 1000,
    /** The iteration count most users' hashes have, so an unknown user costs what a known one does. */
    private readonly usualIterations: () => number = () => 10000,
  ) {}

  async verify(user: string, password: string): Promise<boolean> {
    const stored = this.lookup(user)
    if (stored === undefined) {
      // Answering at once would tell a guesser which names exist: pay the same PBKDF2 against a made-up hash.
      const iterations = this.usualIterations()
      if (this.dummy?.iterations !== iterations) this.dummy = { iterations, hash: await hashPassword(randomBytes(16).toString('hex'), iterations) }
      await verifyPassword(password, this.dummy.hash)
      return false
    }
    const key = `${user}\x00${createHash('sha256').update(password, 'utf8').digest('base64')}\x00${stored}`
    if (this.ok.has(key)) {
      // Re-insert so the Map's insertion order doubles as least-recently-used order.
      this.ok.delete(key)
      this.ok.set(key, true)
      return true
    }
    // Concurrent logins with the same credentials share one PBKDF2 run.
    let p = this.pending.get(key)
    if (!p) {
      p = verifyPassword(password, stored).finally(() => this.pending.delete(key))
      this.pending.set(key, p)
    }
    const good = await p
    if (good && this.lookup(user) === stored) {
      this.ok.set(key, true)
      if (this.ok.size > this.maxEntries) this.ok.delete(this.ok.keys().next().value as string)
    }
    return good
  }

  /** Cached successes, for tests and stats. */
  get size(): number { return this.ok.size }

  clear(): void { this.ok.clear() }
}
