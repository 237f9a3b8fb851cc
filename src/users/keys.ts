import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../log.js'
import { pollFiles } from '../watch.js'

/**
 * Per-user secrets for the apps' payload encryption, in `<data>/keys` (0600): one `user:base64(secret)`
 * a line, base64 so a secret may hold any character. The hub needs the secret itself to decrypt, so
 * unlike passwords it cannot be hashed: the file is as sensitive as the history it unlocks. Re-read
 * within a second when changed, so `owntracks-hub user key` works while the hub runs.
 */
export class KeyStore {
  private keys = new Map<string, string>()
  private stop?: () => void

  constructor(readonly file: string, private readonly log?: Logger) { this.reload() }

  static forData(dataDir: string, log?: Logger): KeyStore { return new KeyStore(join(dataDir, 'keys'), log) }

  reload(): void {
    const keys = new Map<string, string>()
    if (existsSync(this.file)) {
      readFileSync(this.file, 'utf8').split('\n').forEach((line, i) => {
        if (!line.trim() || line.startsWith('#')) return
        const at = line.indexOf(':')
        if (at < 1) { this.log?.warn(`key file ${this.file} line ${i + 1}: expected 'user:base64-secret'; that line is ignored`); return }
        keys.set(line.slice(0, at), Buffer.from(line.slice(at + 1).trim(), 'base64').toString('utf8'))
      })
    }
    this.keys = keys
  }

  watch(): void {
    this.stop = pollFiles(() => [this.file], () => { this.reload(); this.log?.info(`Reloaded encryption keys: ${this.keys.size} in ${this.file}`) })
  }

  close(): void { this.stop?.() }

  get(user: string): string | undefined { return this.keys.get(user) }

  /** Sets (or with undefined, removes) a user's secret. */
  set(user: string, secret: string | undefined): void {
    this.reload()
    if (secret === undefined) this.keys.delete(user)
    else this.keys.set(user, secret)
    const lines = [...this.keys].sort(([a], [b]) => a.localeCompare(b)).map(([u, s]) => `${u}:${Buffer.from(s, 'utf8').toString('base64')}`)
    const tmp = this.file + '.tmp'
    writeFileSync(tmp, '# payload encryption secrets: user:base64(secret); keep this file private\n' + lines.join('\n') + '\n', { mode: 0o600 })
    renameSync(tmp, this.file)
  }
}
