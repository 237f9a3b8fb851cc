import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startHub, tempDir, type RunningHub } from '../helpers/hub.js'
import { loc, seedHistory } from '../helpers/history.js'
import { as, createUsers } from '../helpers/users.js'

const DAY = 86_400

describe('--retention-days prunes older history on a schedule', () => {
  let hub: RunningHub
  let root: string
  const now = Math.floor(Date.now() / 1000)
  // one location a day for 100 days; fred's old device was last seen 60 days ago
  const daily = Array.from({ length: 100 }, (_, i) => now - (99 - i) * DAY - 600)
  const kept = daily.filter((t) => t > now - 30 * DAY)

  before(async () => {
    root = tempDir()
    const data = join(root, 'data')
    await createUsers(data, { admin: { admin: true } })
    const transition = (tst: number) => ({ user: 'jane', device: 'phone', topic: 'owntracks/jane/phone/event', message: { _type: 'transition' as const, event: 'enter', tst } })
    await seedHistory(data, [
      daily.map((t) => loc('jane', 'phone', t)),
      [loc('fred', 'old', now - 60 * DAY), transition(now - 50 * DAY), transition(now - DAY)],
    ])
    hub = await startHub({ dataDir: data, aclDir: join(root, 'acl'), args: ['--retention-days', '30'] })
  })
  after(async () => { await hub?.stop(); rmSync(root, { recursive: true, force: true }) })

  test('right after start, locations and other messages older than 30 days go, and the log says how many', async () => {
    const line = await hub.waitForLog(/Retention \(--retention-days 30\): deleted \d+ locations and \d+ other messages from before \S+/)
    assert.match(line, new RegExp(`deleted ${daily.length - kept.length + 1} locations and 1 other messages`))
    const d = await (await hub.http('/api/0/locations?user=jane&device=phone&from=2000-01-01', as('admin'))).json() as { data: { tst: number }[] }
    assert.deepEqual(d.data.map((p) => p.tst), kept)
    const months = [...new Set(kept.map((t) => new Date(t * 1000).toISOString().slice(0, 7)))]
    const cutMonth = new Date((now - 30 * DAY) * 1000).toISOString().slice(0, 7)
    assert.deepEqual(await (await hub.http('/api/0/list?user=jane&device=phone', as('admin'))).json(), { results: [...new Set([cutMonth, ...months])].sort() })
  })

  test("a device's newest location stays on the map even when its history is gone", async () => {
    const last = await (await hub.http('/api/0/last?user=fred', as('admin'))).json() as { tst: number }[]
    assert.deepEqual(last.map((l) => l.tst), [now - 60 * DAY])
    const d = await (await hub.http('/api/0/locations?user=fred&device=old&from=2000-01-01', as('admin'))).json() as { count: number }
    assert.equal(d.count, 0)
  })

  test('0 (the default) keeps everything', async () => {
    const h2 = await startHub({ dataDir: join(root, 'data2'), aclDir: join(root, 'acl') })
    try {
      assert.doesNotMatch(h2.logs(), /Retention/)
    } finally { await h2.stop() }
  })
})
