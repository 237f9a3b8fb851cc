import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import type { Logger } from '../log.js'
import { pollFiles } from '../watch.js'
import { newUserNameProblem, UserNameError } from './name-policy.js'
import { PasswordVerifier, hashPassword, parsePasswdFile, writePasswdFile } from './passwd.js'

/**
 * Who may log in, and who is an admin. Passwords live in a Mosquitto password file so an existing
 * one can be used as is; the admin role lives beside it in `<data>/admins` (one name a line), because
 * Mosquitto's format has no place for roles. Both are re-read within a second when changed, so
 * `owntracks-hub user …` works while the hub runs.
 */
export class UserRegistry {
  private hashes = new Map<string, string>()
  /** Our own password-file writes in flight. */
  private writing = 0
  private admins = new Set<string>()
  private readonly verifier: PasswordVerifier
  private stop?: () => void
  /** The PBKDF2 iteration count of most stored hashes (Mosquitto's files use 101, ours 10000). */
  private usualIterations = 10000

  constructor(readonly passwordFile: string, readonly adminsFile: string, private readonly log?: Logger) {
    this.verifier = new PasswordVerifier((u) => this.hashes.get(u), 1000, () => this.usualIterations)
    this.reload()
  }

  static forData(dataDir: string, passwordFile: string, log?: Logger): UserRegistry {
    return new UserRegistry(passwordFile, join(dataDir, 'admins'), log)
  }

  reload(): void {
    // A watcher reload while our own write is on its way would read the old file over the new entry.
    if (this.writing > 0) return
    if (existsSync(this.passwordFile)) {
      const { entries, errors } = parsePasswdFile(readFileSync(this.passwordFile, 'utf8'), this.passwordFile)
      for (const e of errors) this.log?.warn(`password file ${this.passwordFile} line ${e.line}: ${e.reason}; that line is ignored`)
      this.hashes = entries
      this.usualIterations = mostCommonIterations(entries.values())
    } else {
      this.hashes = new Map()
    }
    this.admins = existsSync(this.adminsFile)
      ? new Set(readFileSync(this.adminsFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')))
      : new Set()
  }

  watch(onChange?: () => void): void {
    this.stop = pollFiles(() => [this.passwordFile, this.adminsFile], () => {
      this.reload()
      this.log?.info(`Reloaded users: ${this.hashes.size} in ${this.passwordFile}`)
      onChange?.()
    })
  }

  close(): void { this.stop?.() }

  verify(user: string, password: string): Promise<boolean> { return this.verifier.verify(user, password) }
  has(user: string): boolean { return this.hashes.has(user) }
  /** Changes whenever the user's password does, so a session can end with the password it was opened with. */
  passwordStamp(user: string): string | undefined {
    const h = this.hashes.get(user)
    return h === undefined ? undefined : createHash('sha256').update(h).digest('base64url').slice(0, 16)
  }
  isAdmin(user: string): boolean { return this.admins.has(user) && this.hashes.has(user) }
  list(): { name: string; admin: boolean }[] {
    return [...this.hashes.keys()].sort().map((name) => ({ name, admin: this.admins.has(name) }))
  }
  get size(): number { return this.hashes.size }

  async set(user: string, password: string, admin?: boolean): Promise<void> {
    validateUserName(user)
    this.reload()
    if (!this.hashes.has(user)) {
      const problem = newUserNameProblem(user, this.hashes.keys())
      if (problem) throw new UserNameError(problem)
    }
    const hash = await hashPassword(password)
    this.writing++
    try {
      this.hashes.set(user, hash)
      mkdirSync(dirname(this.passwordFile), { recursive: true })
      mkdirSync(dirname(this.adminsFile), { recursive: true })
      await writePasswdFile(this.passwordFile, this.hashes)
    } finally { this.writing-- }
    if (admin !== undefined) this.setAdmin(user, admin)
  }

  async remove(user: string): Promise<boolean> {
    this.reload()
    if (!this.hashes.has(user)) return false
    this.writing++
    try {
      this.hashes.delete(user)
      await writePasswdFile(this.passwordFile, this.hashes)
    } finally { this.writing-- }
    this.setAdmin(user, false)
    return true
  }

  /** Gives or takes the admin role of an existing user; false when there is no such user. */
  changeRole(user: string, admin: boolean): boolean {
    this.reload()
    if (!this.hashes.has(user)) return false
    mkdirSync(dirname(this.adminsFile), { recursive: true })
    this.setAdmin(user, admin)
    return true
  }

  private setAdmin(user: string, admin: boolean): void {
    if (admin) this.admins.add(user)
    else this.admins.delete(user)
    const tmp = this.adminsFile + '.tmp'
    writeFileSync(tmp, '# admins of this hub, one user name a line\n' + [...this.admins].sort().join('\n') + '\n', { mode: 0o600 })
    renameSync(tmp, this.adminsFile)
  }
}

function mostCommonIterations(hashes: Iterable<string>): number {
  const counts = new Map<number, number>()
  for (const h of hashes) {
    const m = /^\$7\$(\d+)\$/.exec(h)
    if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1)
  }
  let best = 10000
  let n = 0
  for (const [it, c] of counts) if (c > n) { best = it; n = c }
  return best
}

/** Names become topic levels (`owntracks/<user>/…`), so they may not contain what topics forbid. */
export function validateUserName(user: string): void {
  if (!/^[^\s/+#:$\x00]{1,64}$/.test(user)) {
    throw new Error(`invalid user name '${user}': use 1-64 characters without spaces, '/', '+', '#', ':' or '$'`)
  }
}

export function randomPassword(): string {
  return randomBytes(15).toString('base64url')
}

/**
 * First start: an `admin` with a random password, kept in `<data>/initial-admin-password` (0600)
 * until the admin changes it, so the operator can find it again after the console scrolled away.
 */
export async function ensureInitialAdmin(users: UserRegistry, dataDir: string): Promise<{ password: string; created: boolean; file: string } | undefined> {
  const hintFile = join(dataDir, 'initial-admin-password')
  if (users.size > 0) {
    if (existsSync(hintFile)) {
      const pw = readFileSync(hintFile, 'utf8').trim()
      if (await users.verify('admin', pw)) return { password: pw, created: false, file: hintFile }
      unlinkSync(hintFile) // changed since: the hint would only mislead
    }
    return undefined
  }
  const pw = randomPassword()
  await users.set('admin', pw, true)
  writeFileSync(hintFile, pw + '\n', { mode: 0o600 })
  chmodSync(hintFile, 0o600)
  return { password: pw, created: true, file: hintFile }
}
