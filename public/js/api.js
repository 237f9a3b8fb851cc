// Every call the map makes to the hub goes through here: same-origin fetch with the session cookie,
// the CSRF token on state-changing requests, and one place that notices "signed out" and "unreachable".

const state = {
  csrf: undefined,
  onSignedOut: () => {},
  onReachability: () => {},
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

export function configureApi({ onSignedOut, onReachability }) {
  state.onSignedOut = onSignedOut
  state.onReachability = onReachability
}

export function setCsrf(token) {
  state.csrf = token
}

/** JSON in, JSON out. Throws HttpError; status 0 means the hub could not be reached. */
export async function api(path, { method = 'GET', body } = {}) {
  // X-Requested-With tells the hub not to answer 401 with a Basic-auth challenge (a browser dialog).
  const headers = { Accept: 'application/json', 'X-Requested-With': 'owntracks-hub-map' }
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' })
  } catch {
    state.onReachability(false)
    throw new HttpError(0, 'The hub cannot be reached.')
  }
  // A reverse proxy answers for a hub that is down.
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    state.onReachability(false)
    throw new HttpError(0, 'The hub cannot be reached.')
  }
  state.onReachability(true)
  if (res.status === 401 && path !== '/signin') state.onSignedOut()
  if (res.status === 204) return null
  const data = await res.json().catch(() => null)
  if (!res.ok) throw new HttpError(res.status, data?.error ?? `${res.status} ${res.statusText}`)
  return data
}

/** Builds a query string, leaving out undefined values. */
export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v))
  return q.toString()
}

/** What a `latest` call resolves with when a newer call was made meanwhile: its answer is not to be drawn. */
export const STALE = Symbol('a newer answer is coming')

/**
 * For a panel that asks again for what it shows (it opened, a change was made, another day was chosen):
 * answers can overtake each other, and the one asked first must not replace what was asked after it. Each
 * call of the returned function (a GET of `path`) resolves with its answer, or with STALE (also instead of
 * an error) when another call was made after it.
 */
export function latest() {
  let asked = 0
  return async (path) => {
    const mine = ++asked
    try {
      const answer = await api(path)
      return mine === asked ? answer : STALE
    } catch (err) {
      if (mine !== asked) return STALE
      throw err
    }
  }
}
