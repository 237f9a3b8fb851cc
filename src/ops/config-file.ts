import { OPTIONS, envName, flagName, type Config, type OptionKey } from '../config.js'

/**
 * The documented example config file (hub.example.yml): every key with its help, its flag and
 * environment twin, and its default. Generated from OPTIONS so it cannot drift; a test compares the
 * checked-in file with this output (`owntracks-hub config example > hub.example.yml` renews it).
 */
export function exampleConfig(): string {
  const lines = [
    '# owntracks-hub configuration (YAML; JSON works too). Use it with --config FILE or OTHUB_CONFIG=FILE.',
    '# Every key below is set to its default. Flags win over environment variables (OTHUB_…), the',
    '# environment over this file, this file over the defaults. Check a file with: npx owntracks-hub serve --check-config',
    '',
  ]
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    if (key === 'config') continue
    const o = OPTIONS[key]
    lines.push(`# ${o.help}`, `# (--${flagName(key)}, ${envName(key)})`)
    lines.push(o.default === undefined ? `# ${key}:` : `${key}: ${typeof o.default === 'string' ? JSON.stringify(o.default) : String(o.default)}`, '')
  }
  return lines.join('\n')
}

/** The effective settings, one `key: value` a line, for `serve --check-config`. */
export function describeConfig(cfg: Config): string {
  const c = cfg as unknown as Record<string, unknown>
  return Object.keys(c).map((k) => `${k}: ${c[k] === undefined ? '(unset)' : JSON.stringify(k === 'redis' || k === 'postgres' ? hidePassword(String(c[k])) : c[k])}`).join('\n') + '\n'
}

/** Database URLs may carry a password: printed settings must not. */
export function hidePassword(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@')
  }
}
