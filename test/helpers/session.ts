import type { RunningHub } from './hub.js'

export interface SignedIn {
  cookie: string
  csrf: string
  setCookie: string
  /** fetch on the hub with this session's cookie (and, with `csrf: true`, its token). */
  http(path: string, init?: RequestInit & { csrf?: boolean }): Promise<Response>
}

/** POST /signin as the map does; throws with the hub's answer when refused. */
export async function signIn(hub: RunningHub, user: string, password: string, headers: Record<string, string> = {}): Promise<SignedIn> {
  const res = await fetch(`http://127.0.0.1:${hub.httpPort}/signin`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ user, password }),
  })
  if (res.status !== 200) throw new Error(`sign-in as ${user} refused: ${res.status} ${await res.text()}`)
  const setCookie = res.headers.get('set-cookie') ?? ''
  const cookie = setCookie.split(';')[0]
  const { csrf } = await res.json() as { csrf: string }
  return {
    cookie, csrf, setCookie,
    http(path, init = {}) {
      const h = new Headers(init.headers)
      h.set('cookie', cookie)
      if (init.csrf) h.set('x-csrf-token', csrf)
      return fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { ...init, headers: h })
    },
  }
}
