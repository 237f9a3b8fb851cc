/**
 * The names a new user may get. A user name is shown on the map, in sharing rules and in topics, and
 * people trust it by how it looks: `jаne` with a Cyrillic а, or `Jane`, `jane_`, `jarne`, would pass
 * for jane. So new names come from a small safe set, and a name that looks like an existing one is
 * refused. Users already in a password file (e.g. one taken over from Mosquitto) keep their names.
 *
 * The safe set: 1 to 32 of the ASCII letters a-z and A-Z, digits 0-9, '.', '_' and '-', starting with a
 * letter or digit.
 */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/

/** A user-facing refusal of a new user's name; the message says what to do. */
export class UserNameError extends Error {}

/**
 * What a name looks like to a reader: case folded, separators dropped, and characters that pass for
 * one another in common fonts made the same (0/o, 1/l/i, rn/m, vv/w). Two names with one skeleton
 * are confusable.
 */
export function skeleton(name: string): string {
  return name.normalize('NFKC').toLowerCase()
    .replace(/[._-]/g, '')
    .replace(/rn/g, 'm').replace(/vv/g, 'w').replace(/cl/g, 'd')
    .replace(/0/g, 'o').replace(/[1i|]/g, 'l').replace(/5/g, 's')
}

/** Why `name` may not be given to a new user, next to `existing` users; undefined when it may. */
export function newUserNameProblem(name: string, existing: Iterable<string>): string | undefined {
  if (!SAFE_NAME.test(name)) {
    return `'${name}' is not in the safe set for new user names: 1-32 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit`
  }
  const s = skeleton(name)
  for (const other of existing) {
    if (other !== name && skeleton(other) === s) return `'${name}' looks too much like the existing user '${other}'; pick a clearly different name`
  }
  return undefined
}
