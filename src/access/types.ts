export type Access = 'read' | 'write' | 'readwrite' | 'deny'

/** One line of a Mosquitto acl_file, with where it came from (for `acl check` and error messages). */
export interface AclRule {
  access: Access
  /** Topic filter; for `pattern` lines it still holds `%u` / `%c`. */
  topic: string
  pattern: boolean
  source: { file: string; line: number }
}

/** A parsed acl_file: rules for anonymous clients, per user, and patterns for everyone. */
export interface AclFile {
  anonymous: AclRule[]
  users: Map<string, AclRule[]>
  patterns: AclRule[]
}
