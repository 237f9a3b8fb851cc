import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { tempDir, type RunningHub } from './hub.js'

export const CHROMIUM = '/usr/bin/chromium'
/** Exactly these, plus a fresh profile and the pipe Playwright talks through. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Screenshots and other artefacts of the browser tests: <repo>/test-output (git-ignored). */
export const OUTPUT_DIR = resolve(fileURLToPath(new URL('../../../test-output/', import.meta.url)))

export interface TestBrowser {
  browser: Browser
  /** A fresh context (own cookies) whose pages can reach 127.0.0.1 only. */
  context(opts?: { width?: number; height?: number; httpCredentials?: { username: string; password: string } }): Promise<BrowserContext>
  /** Requests the guard refused (tiles on the internet, for instance). */
  blocked: string[]
  close(): Promise<void>
}

export interface WatchedPage {
  page: Page
  /** Console errors and uncaught exceptions, as "text @ url". */
  errors: string[]
}

/** Debian's Chromium, headless, with nothing beyond 127.0.0.1 reachable. */
export async function launchBrowser(o: { hostMap?: string } = {}): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed: run 'apt-get install chromium' (.ci/run does)`)
  const profile = tempDir('othub-chromium-')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    // hostMap: names the test serves itself, e.g. `*.tile.test` for `{a,b,c}.tile.test` tiles, resolved to 127.0.0.1.
    args: [...CHROMIUM_FLAGS, ...(o.hostMap ? [`--host-resolver-rules=MAP ${o.hostMap} 127.0.0.1`] : []), `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'],
  })
  const blocked: string[] = []
  const mapped = o.hostMap ? new RegExp(`^${o.hostMap.replace(/\./g, '\\.').replace(/\*/g, '.+')}$`) : undefined
  const contexts: BrowserContext[] = []
  return {
    browser,
    blocked,
    async context(opts = {}) {
      const ctx = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, ...(opts.httpCredentials ? { httpCredentials: opts.httpCredentials } : {}) })
      contexts.push(ctx)
      await ctx.route('**/*', (route) => {
        const url = new URL(route.request().url())
        if (url.hostname === '127.0.0.1' || (mapped && mapped.test(url.hostname)) || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue()
        blocked.push(url.href)
        return route.abort('blockedbyclient')
      })
      return ctx
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {})
      await browser.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

export async function watchedPage(ctx: BrowserContext): Promise<WatchedPage> {
  const page = await ctx.newPage()
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} @ ${m.location().url}`) })
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`))
  return { page, errors }
}

export function outputPath(name: string): string {
  mkdirSync(OUTPUT_DIR, { recursive: true })
  return resolve(OUTPUT_DIR, name)
}

/** A fresh context signed in through the map's own form, as a person would; resolves once the map shows. */
export async function signInPage(b: TestBrowser, hub: RunningHub, user: string, password: string, size?: { width: number; height: number }): Promise<WatchedPage & { ctx: BrowserContext }> {
  const ctx = await b.context(size)
  const w = await watchedPage(ctx)
  await w.page.goto(`http://127.0.0.1:${hub.httpPort}/`)
  await w.page.getByLabel('User name').fill(user)
  await w.page.getByLabel('Password', { exact: true }).fill(password)
  await w.page.getByRole('button', { name: 'Sign in' }).click()
  await w.page.waitForSelector('#app:not([hidden])')
  return { ...w, ctx }
}
