import type { CommandSpec } from './args.js'

/** The cluster's commands (commands/cluster.ts), apart so --help does not load the PostgreSQL client. */
export const aclClusterSpecs: Record<string, CommandSpec> = {
  push: {
    name: 'acl push', usage: 'acl push DIR --postgres URL',
    summary: "Checks the rules in DIR (sharing.yml, *.acl, places.yml) against the cluster's users and, when they are valid, makes them the cluster's rules: files the cluster has and DIR has not are removed. A mistake is refused with file, line and reason, and the old rules stay. Every node applies them within 2 seconds.",
    options: ['topicBase', 'redis', 'postgres'],
  },
  pull: {
    name: 'acl pull', usage: 'acl pull DIR --postgres URL',
    summary: "Writes the cluster's rules (sharing.yml, *.acl, places.yml, as their text) into DIR.",
    options: ['redis', 'postgres'],
  },
}

export const clusterSpecs: Record<string, CommandSpec> = {
  migrate: {
    name: 'cluster migrate', usage: 'cluster migrate --data DIR --acl-dir DIR --postgres URL',
    summary: "Copies an embedded hub (stopped) into a cluster's PostgreSQL: its history, users, rules, keys, cards and tours. Safe to run again: what is there already is counted, not doubled.",
    options: ['topicBase', 'redis', 'postgres'],
  },
  export: {
    name: 'cluster export', usage: 'cluster export --data DIR --acl-dir DIR --postgres URL',
    summary: "Writes a cluster's history, users, rules, keys, cards and tours into an embedded hub's data directory (new or stopped), so one machine can run it again.",
    options: ['topicBase', 'redis', 'postgres'],
  },
}
