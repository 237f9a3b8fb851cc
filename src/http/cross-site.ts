/**
 * Why a request looks like it was made by another site's page, or undefined when it does not.
 *
 * Browsers attach saved Basic credentials to requests that any page triggers, so without this a
 * page elsewhere could delete history (`kill`), queue commands, or open /ws/last and read
 * locations in the user's name. Scripts (curl, the apps) send neither header and pass. Behind a
 * reverse proxy, the Host it forwards (or X-Forwarded-Host) must be the one the browser used.
 */
export function crossSiteReason(header: (name: string) => string | undefined): string | undefined {
  const site = header('sec-fetch-site')
  if (site === 'cross-site' || site === 'same-site') return `sent by a page on another site (Sec-Fetch-Site: ${site})`
  const origin = header('origin')
  if (origin === undefined) return undefined
  let host: string | undefined
  try { host = new URL(origin).host } catch { /* 'null' or garbage: no host to match */ }
  const ours = [header('host'), header('x-forwarded-host')].filter((h): h is string => !!h)
  return host && ours.includes(host) ? undefined : `sent by a page from origin ${origin}, not this hub`
}
