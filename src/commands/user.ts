import { existsSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../config.js'
import { KeyStore } from '../users/keys.js'
import { UserRegistry, validateUserName } from '../users/registry.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'
import { promptPassword } from './prompt.js'

export const userSpecs: Record<string, CommandSpec> = {
  add: { name: 'user add', usage: 'user add NAME [--password PW] [--admin]', summary: 'Creates a user (or replaces the password of an existing one). Without --password it asks without echo. A running hub picks the change up within a second.', options: [], extra: { password: { type: 'string', help: 'the password (visible in your shell history: prefer the prompt)' }, admin: { type: 'boolean', help: 'give the user the admin role (reads everything, manages users)' } } },
  passwd: { name: 'user passwd', usage: 'user passwd NAME [--password PW]', summary: "Changes a user's password.", options: [], extra: { password: { type: 'string', help: 'the new password' } } },
  del: { name: 'user del', usage: 'user del NAME', summary: 'Removes a user. Their history stays until deleted through the API.', options: [] },
  list: { name: 'user list', usage: 'user list', summary: 'Lists users, marking admins.', options: [] },
  key: { name: 'user key', usage: 'user key NAME [--secret S | --clear]', summary: "Sets the secret NAME's phones encrypt their payloads with (the app's encryption key). The hub then stores and serves them decrypted, while MQTT subscribers still receive them encrypted. Without --secret it asks without echo.", options: [], extra: { secret: { type: 'string', help: 'the secret (visible in your shell history: prefer the prompt)' }, clear: { type: 'boolean', help: 'forget the secret: encrypted payloads are stored as they arrive' } } },
}

export async function user(sub: string, p: Parsed): Promise<void> {
  const cfg = loadConfig(p.flags, process.env)
  const users = UserRegistry.forData(cfg.data, cfg.passwordFile)
  const name = p.positionals[0]
  if (sub !== 'list') {
    if (!name) throw new UsageError(`user ${sub} needs a user NAME`)
    validateUserName(name)
  }
  switch (sub) {
    case 'add': {
      const pw = (p.extra.password as string | undefined) ?? (await promptPassword(`Password for ${name}: `))
      const existed = users.has(name)
      await users.set(name, pw, p.extra.admin === true ? true : existed ? undefined : false)
      console.log(`${existed ? 'Updated' : 'Added'} user ${name}${p.extra.admin ? ' (admin)' : ''} in ${cfg.passwordFile}`)
      return
    }
    case 'passwd': {
      if (!users.has(name)) throw new UsageError(`no user '${name}' in ${cfg.passwordFile}; add it with 'npx owntracks-hub user add ${name}'`)
      const pw = (p.extra.password as string | undefined) ?? (await promptPassword(`New password for ${name}: `))
      await users.set(name, pw)
      const hint = join(cfg.data, 'initial-admin-password')
      if (name === 'admin' && existsSync(hint)) unlinkSync(hint)
      console.log(`Changed the password of ${name}`)
      return
    }
    case 'del':
      if (!(await users.remove(name))) throw new UsageError(`no user '${name}' in ${cfg.passwordFile}`)
      console.log(`Removed user ${name}`)
      return
    case 'key': {
      if (!users.has(name)) throw new UsageError(`no user '${name}' in ${cfg.passwordFile}; add it with 'npx owntracks-hub user add ${name}'`)
      const keys = KeyStore.forData(cfg.data)
      if (p.extra.clear === true) {
        keys.set(name, undefined)
        console.log(`Removed the encryption secret of ${name} from ${keys.file}`)
        return
      }
      const secret = (p.extra.secret as string | undefined) ?? (await promptPassword(`Encryption secret for ${name}: `))
      if (secret === '') throw new UsageError('an empty secret is not allowed')
      keys.set(name, secret)
      console.log(`Set the encryption secret of ${name} in ${keys.file}${Buffer.byteLength(secret) > 32 ? ' (the apps use only its first 32 bytes)' : ''}`)
      return
    }
    case 'list':
      for (const u of users.list()) console.log(u.admin ? `${u.name} (admin)` : u.name)
      return
  }
}
