import type { Pool } from 'pg'

/*
 * The cluster's schema in PostgreSQL, as plain SQL run in order at start. Each step runs once, in its
 * own transaction, and is recorded in othub_schema; a node that starts against a newer schema than it
 * knows refuses to run rather than write rows an older shape would misread. An advisory lock makes
 * nodes that start together apply each step once.
 *
 * History (the data outlives the program, like the LevelDB key layout in store/history-level.ts):
 *   othub_locations   one row per location: (usr, device, tst, h8) is the key, json the payload as stored
 *   othub_records     every other kept message, keyed by (usr, device, type, tst, h8)
 *   othub_devices     the device summary: newest location and its topic, card, months holding locations
 * h8 is the first 8 hex digits of SHA-1 over the JSON, as in LevelDB: a QoS 1 redelivery lands on the
 * same key and is stored once. Text columns use the C collation so ORDER BY is byte order, the order of
 * LevelDB's keys, and the Recorder API answers the same bytes on either engine. json is text, not jsonb:
 * jsonb would reorder keys and change the bytes.
 *
 * Shared state: othub_files (users, rules, keys, cards, tours as file text), othub_sessions (the map's),
 * othub_client_owners (which user holds a client id) with othub_nodes (which nodes are alive).
 */
export const MIGRATIONS: readonly string[] = [
  `create table othub_locations (
     usr text collate "C" not null, device text collate "C" not null, tst bigint not null, h8 text collate "C" not null,
     json text not null,
     primary key (usr, device, tst, h8))
   ;
   create table othub_records (
     usr text collate "C" not null, device text collate "C" not null, type text collate "C" not null,
     tst bigint not null, h8 text collate "C" not null, json text not null,
     primary key (usr, device, type, tst, h8))
   ;
   create table othub_devices (
     usr text collate "C" not null, device text collate "C" not null,
     last text, last_topic text, last_tst bigint not null default -1, card text,
     months text[] not null default '{}',
     primary key (usr, device))`,
  // Shared state files (cluster/file-mirror.ts), as their exact bytes; content null = deleted.
  `create table othub_files (
     name text collate "C" primary key, content bytea, origin text not null, updated_at timestamptz not null default now())`,
  // The map's sessions (cluster/sessions.ts), keyed by the SHA-256 of the cookie, never the cookie itself.
  `create table othub_sessions (
     k text collate "C" primary key, usr text not null, data text not null, created timestamptz not null default now())`,
  // Who holds each MQTT client id (cluster/client-owners.ts); '' is an anonymous client.
  `create table othub_nodes (node text collate "C" primary key, seen timestamptz not null)
   ;
   create table othub_client_owners (
     client_id text collate "C" primary key, usr text collate "C" not null, persistent boolean not null,
     node text collate "C" not null, since timestamptz not null default now())`,
]

const LOCK = 0x07_4b_75_62 // any constant: the nodes of one cluster only need to agree on it

export async function migrate(pool: Pool): Promise<number> {
  const c = await pool.connect()
  try {
    await c.query('select pg_advisory_lock($1)', [LOCK])
    await c.query('create table if not exists othub_schema (version int primary key, applied_at timestamptz not null default now())')
    const { rows } = await c.query<{ v: number | null }>('select max(version) as v from othub_schema')
    const have = rows[0]?.v ?? 0
    if (have > MIGRATIONS.length) {
      throw new Error(`the PostgreSQL schema is at version ${have}, newer than this owntracks-hub knows (${MIGRATIONS.length}): upgrade this node`)
    }
    for (let v = have + 1; v <= MIGRATIONS.length; v++) {
      await c.query('begin')
      try {
        await c.query(MIGRATIONS[v - 1])
        await c.query('insert into othub_schema (version) values ($1)', [v])
        await c.query('commit')
      } catch (err) {
        await c.query('rollback')
        throw err
      }
    }
    return MIGRATIONS.length
  } finally {
    await c.query('select pg_advisory_unlock($1)', [LOCK]).catch(() => {})
    c.release()
  }
}
