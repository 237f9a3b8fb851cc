import { existsSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../config.js'
import { UserRegistry, validateUserName } from '../users/registry.js'
import { UsageError, type CommandSpec, type Parsed } from './args.js'
import { promptPassword } from './prompt.js'

export const userSpecs: Record<string, CommandSpec> = {
  add: { name: 'user add', usage: 'user add NAME [--password PW] [--admin]', summary: 'Creates a user (or replaces the password of an existing one). Without --password it asks without echo. A running hub picks the change up within a second.', options: [], extra: { password: { type: 'string', help: 'the password (visible in your shell history: prefer the prompt)' }, admin: { type: 'boolean', help: 'give the user the admin role (reads everything, manages users)' } } },
  passwd: { name: 'user passwd', usage: 'user passwd NAME [--password PW]', summary: "Changes a user's password.", options: [], extra: { password: { type: 'string', help: 'the new password' } } },
  del: { name: 'user del', usage: 'user del NAME', summary: 'Removes a user. Their history stays until deleted through the API.', options: [] },
  list: { name: 'user list', usage: 'user list', summary: 'Lists users, marking admins.', options: [] },
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
      if (!users.has(name)) throw new UsageError(`no user '${name}' in ${cfg.passwordFile}; add it with 'owntracks-hub user add ${name}'`)
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
    case 'list':
      for (const u of users.list()) console.log(u.admin ? `${u.name} (admin)` : u.name)
      return
  }
}
