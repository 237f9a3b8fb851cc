const NONE: ReadonlySet<string> = new Set()

/**
 * Why a request looks like it was made by another site's page, or undefined when it does not.
 *
 * Browsers attach saved Basic credentials to requests that any page triggers, so without this a
 * page elsewhere could delete history (`kill`), queue commands, or open /ws/last and read
 * locations in the user's name. Scripts (curl, the apps) send neither header and pass. Behind a
 * reverse proxy, the Host it forwards (or X-Forwarded-Host) must be the one the browser used.
 * `allowed` holds the origins of --cors-origin, whose pages may call the hub.
 */
export function crossSiteReason(header: (name: string) => string | undefined, allowed: ReadonlySet<string> = NONE): string | undefined {
  const origin = header('origin')
  // A web app on another site the operator named (--cors-origin): its requests are expected.
  if (origin !== undefined && allowed.has(origin)) return undefined
  const site = header('sec-fetch-site')
  if (site === 'cross-site' || site === 'same-site') return `sent by a page on another site (Sec-Fetch-Site: ${site})`
  if (origin === undefined) return undefined
  let host: string | undefined
  try { host = new URL(origin).host } catch { /* 'null' or garbage: no host to match */ }
  const ours = [header('host'), header('x-forwarded-host')].filter((h): h is string => !!h)
  return host && ours.includes(host) ? undefined : `sent by a page from origin ${origin}, not this hub`
}
