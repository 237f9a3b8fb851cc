import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startHub, type RunningHub } from '../helpers/hub.js'
import { phone } from '../helpers/phone.js'
import { Receiver } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

describe('places across a restart: the hub remembers who is where from the transitions it stored', () => {
  let hub: RunningHub
  const t0 = Math.floor(Date.now() / 1000) - 600
  const at = (dt: number, lat: number) => JSON.stringify({ _type: 'location', tid: 'li', lat, lon: 13.405, acc: 10, tst: t0 + dt })

  before(async () => {
    hub = await startHub()
    await addUsers(hub, 'lisa', 'mum')
    await writeRules(hub, 'shares:\n  - from: lisa\n    to: mum\n')
    const since = hub.logs().length
    writeFileSync(join(hub.aclDir, 'places.yml'), 'places:\n  - name: school\n    owner: lisa\n    lat: 52.52\n    lon: 13.405\n    radius: 150m\n')
    await hub.waitForLog(/Reloaded places/, 5000, since)
  })
  after(async () => { await hub?.stop() })

  test('lisa entered school before the restart; her next fix there after it is no new enter, leaving is one leave', async () => {
    const lisa = await phone(hub.mqttPort, 'lisa', pw('lisa'))
    await lisa.publishAsync('owntracks/lisa/phone', at(0, 52.53), { qos: 1 })
    await lisa.publishAsync('owntracks/lisa/phone', at(60, 52.52), { qos: 1 })
    await hub.waitForLog(/Place: lisa\/phone entered school/)
    await lisa.endAsync()
    hub = await hub.restart()
    const mum = await Receiver.connect(hub, 'mum')
    await mum.subscribe('owntracks/lisa/+/event')
    const again = await phone(hub.mqttPort, 'lisa', pw('lisa'))
    await again.publishAsync('owntracks/lisa/phone', at(120, 52.5201), { qos: 1 })
    await again.publishAsync('owntracks/lisa/phone', at(180, 52.54), { qos: 1 })
    await hub.waitForLog(/Place: lisa\/phone left school/)
    await mum.settle()
    assert.deepEqual(mum.messages().map((m) => JSON.parse(m.payload).event), ['leave'])
    await again.endAsync()
    await mum.end()
  })
})
