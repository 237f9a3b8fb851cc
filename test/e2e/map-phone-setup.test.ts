import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { outputPath, signInPage, type TestBrowser } from '../helpers/browser.js'
import { runCli, waitFor, type RunningHub } from '../helpers/hub.js'
import { familyWeek, PHONE, DESKTOP, seen, type FamilyWeek } from '../helpers/family-week.js'
import { tlsPorts } from '../helpers/tls.js'

describe('the map on a phone: a one-row toolbar, adding a phone with TLS and a warning about 127.0.0.1; who sees me', () => {
  let w: FamilyWeek
  let hub: RunningHub
  let b: TestBrowser
  let mqttsPort = 0

  before(async () => {
    w = await familyWeek(async ({ hub, data }) => {
      const since = hub.logs().length
      assert.equal((await runCli(['tls', 'init', '--data', data])).code, 0)
      mqttsPort = (await tlsPorts(hub, since)).mqtts
    })
    ;({ hub, b } = w)
  })
  after(async () => { await w?.stop() })

  test('phone: the toolbar is one row and says who is signed in', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', PHONE)
    const bar = (await p.page.locator('.toolbar').boundingBox())!
    assert.ok(bar.height <= 64, `toolbar ${bar.height} px high`)
    const who = p.page.locator('#whoami')
    assert.ok(await who.isVisible(), 'who is signed in is shown')
    assert.match(await who.innerText(), /fred/)
    const tops = await p.page.locator('.toolbar nav button').evaluateAll((els) => [...new Set(els.map((e) => Math.round(e.getBoundingClientRect().top)))])
    assert.equal(tops.length, 1, `buttons on ${tops.length} rows`)
    await p.ctx.close()
  })

  test('Add a phone on a phone-sized screen: the QR code in sight, TLS while it runs with a word about /ca.crt, a warning about 127.0.0.1', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', PHONE)
    await p.page.getByRole('button', { name: 'Add a phone' }).click()
    // Each problem a new user met is checked, and all of them are reported together.
    const problems: string[] = []
    const box = (await p.page.locator('#phone-qr').boundingBox())!
    if (box.y + box.height / 2 >= PHONE.height) problems.push(`QR code centre at ${box.y + box.height / 2} px, below the ${PHONE.height} px screen`)
    if (!(await p.page.locator('#phone-tls').isChecked())) problems.push('TLS runs, but the settings say plain MQTT')
    if ((await p.page.locator('#phone-port').inputValue()) !== String(mqttsPort)) problems.push(`port ${await p.page.locator('#phone-port').inputValue()}, not the TLS port ${mqttsPort}`)
    const ca = p.page.locator('#phone-ca')
    if (!(await ca.count()) || !(await ca.isVisible()) || (await p.page.locator('#phone-ca-link').getAttribute('href')) !== '/ca.crt') problems.push('no word about installing /ca.crt')
    const warning = p.page.locator('#phone-warning')
    if (!(await warning.count()) || !(await warning.isVisible()) || !/127\.0\.0\.1 is this computer's own address/.test(await warning.innerText())) problems.push('no warning that 127.0.0.1 is unreachable for a phone')
    assert.deepEqual(problems, [])
    await p.page.locator('#panel').evaluate((e) => { e.scrollTop = 0 })
    await p.page.screenshot({ path: outputPath('add-phone-375.png') })
    await p.page.locator('#phone-host').fill('hub.example.net')
    assert.equal(await warning.isVisible(), false, 'a real address: no warning')
    await p.ctx.close()
  })

  test('Who sees me names the people who see fred through a group, and the admins', async () => {
    const p = await signInPage(b, hub, 'fred', 'fred-pw', DESKTOP)
    await p.page.getByRole('button', { name: 'Sharing' }).click()
    const out = p.page.locator('#shares-out')
    await out.locator('li[data-seen-by="group"]').waitFor()
    assert.match(await out.locator('li[data-seen-by="group"]').innerText(), /jane · through the group family/)
    assert.match(await out.locator('li[data-seen-by="admin"]').innerText(), /admin · an admin of this hub/)
    assert.doesNotMatch(await out.innerText(), /Nobody/, 'never "nobody" while someone sees fred')
    await p.ctx.close()
  })

})
