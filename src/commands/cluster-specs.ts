import type { CommandSpec } from './args.js'
import type { OptionKey } from '../config.js'

/** A cluster command: its usage starts with its name, and it takes the cluster's addresses. */
const spec = (name: string, args: string, summary: string, options: OptionKey[] = ['topicBase', 'redis', 'postgres']): CommandSpec =>
  ({ name, usage: `${name} ${args}`, summary, options })

/** The cluster's commands (commands/cluster.ts), apart so --help does not load the PostgreSQL client. */
export const aclClusterSpecs: Record<string, CommandSpec> = {
  push: spec('acl push', 'DIR --postgres URL',
    "Checks the rules in DIR (sharing.yml, *.acl, places.yml) against the cluster's users and, when they are valid, makes them the cluster's rules: files the cluster has and DIR has not are removed. A mistake is refused with file, line and reason, and the old rules stay. Every node applies them within 2 seconds."),
  pull: spec('acl pull', 'DIR --postgres URL', "Writes the cluster's rules (sharing.yml, *.acl, places.yml, as their text) into DIR.", ['redis', 'postgres']),
}

export const clusterSpecs: Record<string, CommandSpec> = {
  migrate: spec('cluster migrate', '--data DIR --acl-dir DIR --postgres URL',
    "Copies an embedded hub (stopped) into a cluster's PostgreSQL: its history, users, rules, keys, cards and tours. Safe to run again: what is there already is counted, not doubled."),
  export: spec('cluster export', '--data DIR --acl-dir DIR --postgres URL',
    "Writes a cluster's history, users, rules, keys, cards and tours into an embedded hub's data directory (new or stopped), so one machine can run it again."),
}
