import { resolve } from 'node:path'
import { OPTIONS, type Config } from './config.js'

/**
 * A command line to suggest, in the one form that works after `npm install` in the hub's folder
 * (`npx owntracks-hub …`, the package's own bin), carrying the --data, --acl-dir and --password-file
 * this hub runs with when they are not the defaults: a hint that names another data directory
 * would act on the wrong hub.
 */
export function hubCommand(args: string, cfg?: Pick<Config, 'data' | 'aclDir' | 'passwordFile'>): string {
  const extra: string[] = []
  if (cfg) {
    if (cfg.data !== resolve(OPTIONS.data.default)) extra.push(`--data ${quote(cfg.data)}`)
    if (cfg.aclDir !== resolve(OPTIONS.aclDir.default) && /^acl\b/.test(args)) extra.push(`--acl-dir ${quote(cfg.aclDir)}`)
    if (cfg.passwordFile !== resolve(cfg.data, 'passwd') && /^user\b/.test(args)) extra.push(`--password-file ${quote(cfg.passwordFile)}`)
  }
  return ['npx owntracks-hub', args, ...extra].join(' ')
}

const quote = (s: string) => (/^[\w./:@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
