import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { client, phone } from '../helpers/phone.js'
import { runCli, startHub, waitFor, type RunningHub } from '../helpers/hub.js'
import { LiveFeed, seen, strip, writeAcl, type Msg, type Seen } from '../helpers/channels.js'
import { Receiver, type Received } from '../helpers/receiver.js'
import { writeRules } from '../helpers/sharing.js'
import { addUsers, pw } from '../helpers/users.js'

/*
 * One view per viewer on every channel. For a table of rules × every kind of message jane's phone
 * publishes × every kind of viewer, what the viewer receives over MQTT (live and retained) is what
 * /ws/last pushes, what /api/0/last and /ws/last's LAST answer, what HTTP mode's /pub answer holds
 * and what /api/0/locations serves — field by field, after each channel's own format. The MQTT side
 * is itself pinned down by `expect` (which types each viewer gets), so both sides cannot be wrong alike.
 */

const PLACE = { lat: 51.500712, lon: -0.124625 }
const DEVICE = 'owntracks/jane/phone'
const PUSHED = new Set(['location', 'transition', 'waypoint', 'beacon'])

/** Every kind of message an OwnTracks phone publishes, plus what the hub must treat as opaque. */
function messages(t: number): { topic: string; payload: string; retain?: boolean }[] {
  const j = (o: Msg) => JSON.stringify(o)
  const revealing = { SSID: 'ClinicWiFi', BSSID: 'aa:bb:cc:dd:ee:ff', inregions: ['Secretclinic'], inrids: ['r1'], addr: '1 Secret Street', image: 'aGVsbG8=', imagename: 'clinic.jpg', tag: 'clinic' }
  return [
    { topic: DEVICE, payload: j({ _type: 'lwt', tst: t - 30 }) },
    { topic: `${DEVICE}/info`, payload: j({ _type: 'card', name: 'Jane Secretname', face: 'iVBORw0KGgo=', tid: 'jp' }), retain: true },
    { topic: `${DEVICE}/event`, payload: j({ _type: 'transition', event: 'enter', desc: 'Secretclinic', ...PLACE, acc: 10, tst: t - 20, wtst: t - 900, tid: 'jp', rid: 'r1', t: 'c' }) },
    { topic: `${DEVICE}/waypoint`, payload: j({ _type: 'waypoint', desc: 'Secretclinic', ...PLACE, rad: 50, tst: t - 900, rid: 'r1' }) },
    { topic: `${DEVICE}/waypoints`, payload: j({ _type: 'waypoints', waypoints: [{ _type: 'waypoint', desc: 'Home', ...PLACE, rad: 50, tst: t - 900 }] }) },
    { topic: `${DEVICE}/status`, payload: j({ _type: 'status', android: { wifi: 1 } }) },
    { topic: `${DEVICE}/step`, payload: j({ _type: 'steps', steps: 1200, from: t - 3600, to: t - 60 }) },
    { topic: `${DEVICE}/cmd`, payload: j({ _type: 'cmd', action: 'reportLocation' }) },
    { topic: DEVICE, payload: j({ _type: 'encrypted', data: 'c2VjcmV0' }) },
    { topic: DEVICE, payload: 'hello world' },
    { topic: DEVICE, payload: j({ _type: 'location', ...PLACE, ...revealing, acc: 8, alt: 20, batt: 50, conn: 'w', tid: 'jp', tst: t - 10 }) },
    // The same place spelt as numeric strings, as some phones send it: the newest location, retained.
    { topic: DEVICE, payload: j({ _type: 'location', lat: String(PLACE.lat), lon: String(PLACE.lon), ...revealing, acc: '8', batt: 51, tid: 'jp', tst: t }), retain: true },
  ]
}

type Viewer = 'jane' | 'fred' | 'stranger' | 'boss' | 'root' | 'anon'
const NAMED: Viewer[] = ['jane', 'fred', 'stranger', 'boss', 'root']
const ALL_TYPES = ['lwt', 'card', 'transition', 'waypoint', 'waypoints', 'status', 'steps', 'cmd', 'encrypted', 'hello world', 'location', 'location']
const LOCATION_PART = ['lwt', 'encrypted', 'location', 'location']
const GRID_LOCATION = ['lwt', 'location', 'location']

interface Rule {
  name: string
  yaml: string
  acl?: string
  /** The types (in publish order) each viewer must get over MQTT; viewers not named get nothing. */
  expect: Partial<Record<Viewer, string[]>>
  /** Viewers who see live only: no history. */
  liveOnly?: Viewer[]
  /** Viewers who get positions on a grid, never the exact place. */
  blurred?: Viewer[]
  /** Viewers who see only which of jane's places she is in (precision: place): the place's centre and nothing finer. */
  presence?: Viewer[]
  /** acl/places.yml for the round; jane's phone reports once from the place before the round, so she is in it. */
  places?: string
}

/** jane's office: its centre 40 m from PLACE, so the exact fix and the place's own centre differ. */
const OFFICE = { lat: 51.501, lon: -0.1243 }
const OFFICE_YAML = `places:\n  - name: office\n    owner: jane\n    lat: ${OFFICE.lat}\n    lon: ${OFFICE.lon}\n    radius: 150m\n`

const share = (extra: string) => `shares:\n  - from: jane\n    to: [fred]\n    devices: [phone]\n${extra}`
const OWN_AND_ADMINS = { jane: ALL_TYPES, root: ALL_TYPES }

const RULES: Rule[] = [
  { name: 'include: [location] (the card and the transition stay jane\'s)', yaml: share('    include: [location]\n'), expect: { ...OWN_AND_ADMINS, fred: LOCATION_PART } },
  { name: 'include: [location, card]', yaml: share('    include: [location, card]\n'), expect: { ...OWN_AND_ADMINS, fred: ['lwt', 'card', 'encrypted', 'location', 'location'] } },
  { name: 'include: [events]', yaml: share('    include: [events]\n'), expect: { ...OWN_AND_ADMINS, fred: ['transition'] } },
  { name: 'everything, exact', yaml: share(''), expect: { ...OWN_AND_ADMINS, fred: ['lwt', 'card', 'transition', 'encrypted', 'location', 'location'] } },
  { name: 'precision: 1km', yaml: share('    precision: 1km\n'), expect: { ...OWN_AND_ADMINS, fred: ['lwt', 'card', 'location', 'location'] }, blurred: ['fred'] },
  { name: 'precision: geohash 5, location only', yaml: share('    precision: geohash 5\n    include: [location]\n'), expect: { ...OWN_AND_ADMINS, fred: GRID_LOCATION }, blurred: ['fred'] },
  { name: 'history: false', yaml: share('    include: [location]\n    history: false\n'), expect: { ...OWN_AND_ADMINS, fred: LOCATION_PART }, liveOnly: ['fred'] },
  { name: 'history: 7d', yaml: share('    include: [location]\n    history: 7d\n'), expect: { ...OWN_AND_ADMINS, fred: LOCATION_PART } },
  { name: 'a time box, inside it', yaml: share('    include: [location]\n    until: 2099-01-01T00:00Z\n'), expect: { ...OWN_AND_ADMINS, fred: LOCATION_PART } },
  { name: 'a time box that has ended', yaml: share('    include: [location]\n    until: 2020-01-01T00:00Z\n'), expect: OWN_AND_ADMINS },
  { name: 'a group', yaml: 'groups:\n  family: [jane, fred]\n', expect: { ...OWN_AND_ADMINS, fred: ['lwt', 'card', 'transition', 'encrypted', 'location', 'location'] } },
  { name: 'admins: in sharing.yml only', yaml: 'admins: [boss]\n', expect: { ...OWN_AND_ADMINS, boss: ALL_TYPES } },
  { name: 'a Mosquitto line for fred: the location topic', yaml: '', acl: 'user fred\ntopic read owntracks/jane/phone\n', expect: { ...OWN_AND_ADMINS, fred: ['lwt', 'encrypted', 'hello world', 'location', 'location'] } },
  { name: 'a Mosquitto line for fred: all of jane', yaml: '', acl: 'user fred\ntopic read owntracks/jane/#\n', expect: { ...OWN_AND_ADMINS, fred: ALL_TYPES } },
  // jane is at her office (the fix 40 m from its centre): fred gets the office's centre, never the fix, and no phone transition
  { name: 'precision: place, at a place', yaml: share('    precision: place\n'), places: OFFICE_YAML, expect: { ...OWN_AND_ADMINS, fred: ['lwt', 'card', 'location', 'location'] }, presence: ['fred'], liveOnly: ['fred'] },
  { name: 'a Mosquitto line for anonymous clients', yaml: '', acl: 'topic read owntracks/jane/phone\n', expect: { ...OWN_AND_ADMINS, anon: ['lwt', 'encrypted', 'hello world', 'location', 'location'] } },
]

const typeOf = (s: Seen) => (typeof s.m === 'string' ? s.m : String(s.m._type))
const ofJane = (got: Received[]) => seen(got, DEVICE)

describe('one view per viewer on every channel: MQTT, /api/0/last, /api/0/locations, /ws/last, /pub', () => {
  let hub: RunningHub
  let jane: MqttClient
  let root: MqttClient
  let acl = ''
  let anonMarks = 0
  let tst = Math.floor(Date.now() / 1000) - 3600

  before(async () => {
    hub = await startHub({ args: ['--allow-anonymous'] })
    assert.equal((await runCli(['user', 'add', 'root', '--password', pw('root'), '--admin', '--data', hub.dataDir])).code, 0)
    await addUsers(hub, 'jane', 'fred', 'stranger', 'boss')
    // Anonymous clients read one marker topic, so that "nothing arrived" can be proven for them too.
    await writeAcl(hub, 'anon.acl', 'topic read othub-test/anon-marker\n', '')
    jane = await phone(hub.mqttPort, 'jane', pw('jane'))
    root = await client(hub.mqttPort, 'root', pw('root'))
  })
  after(async () => {
    await Promise.all([jane?.endAsync(), root?.endAsync()])
    await hub?.stop()
  })

  /** An anonymous MQTT receiver, settled by a marker root publishes. */
  async function anonReceiver(): Promise<{ got: Received[]; settle(): Promise<void>; end(): Promise<void> }> {
    const c = await client(hub.mqttPort, undefined, undefined)
    const got: Received[] = []
    c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }))
    await c.subscribeAsync(['othub-test/anon-marker', 'owntracks/#'], { qos: 1 })
    const settle = async () => {
      const id = String(++anonMarks)
      await root.publishAsync('othub-test/anon-marker', id, { qos: 1 })
      const start = Date.now()
      while (!got.some((g) => g.topic === 'othub-test/anon-marker' && g.payload === id)) {
        if (Date.now() - start > 10_000) throw new Error(`anonymous: marker ${id} never came back`)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
    return { got, settle, end: () => c.endAsync() }
  }

  for (const rule of RULES) {
    test(rule.name, async () => {
      await writeAcl(hub, 'rule.acl', rule.acl ?? '', acl)
      acl = rule.acl ?? ''
      assert.match(await writeRules(hub, `# ${rule.name}\n${rule.yaml}`), /Reloaded access rules/)
      tst += 60
      const t = tst
      if (rule.places) {
        const since = hub.logs().length
        writeFileSync(join(hub.aclDir, 'places.yml'), rule.places)
        await hub.waitForLog(/Reloaded places/, 5000, since)
        await jane.publishAsync(DEVICE, JSON.stringify({ _type: 'location', ...PLACE, acc: 8, tid: 'jp', tst: t - 50 }), { qos: 1 })
        await hub.waitForLog(/Place: jane\/phone entered office/, 5000, since)
      }

      // Nothing retained from the round before: aedes sends retained messages after the SUBACK, so
      // one could otherwise arrive after the marker that ends subscribe() and look live.
      for (const topic of [DEVICE, `${DEVICE}/info`]) await jane.publishAsync(topic, '', { qos: 1, retain: true })
      const live = new Map<Viewer, Receiver>()
      const feeds = new Map<Viewer, LiveFeed>()
      for (const v of NAMED) {
        const r = await Receiver.connect(hub, v, { clientId: `${v}-live-${t}` })
        await r.subscribe('owntracks/#')
        r.clear()
        live.set(v, r)
        feeds.set(v, await LiveFeed.open(hub, v))
      }
      const anon = await anonReceiver()
      await anon.settle()
      anon.got.length = 0
      try {
        for (const m of messages(t)) await jane.publishAsync(m.topic, m.payload, { qos: 1, retain: m.retain ?? false })
        await Promise.all([...live.values()].map((r) => r.settle()))
        await Promise.all([...feeds.values()].map((f) => f.settle()))
        await anon.settle()

        // Every mismatch of the round is collected, so a failure lists all channels that disagree.
        const problems: string[] = []
        const check = (fn: () => void) => {
          try { fn() } catch (e) { if (e instanceof assert.AssertionError) problems.push(`${e.message.split('\n')[0]} — got ${String(JSON.stringify(e.actual)).slice(0, 400)}, want ${String(JSON.stringify(e.expected)).slice(0, 400)}`); else throw e }
        }
        // MQTT, live: the types each viewer gets are the rule's.
        const mqtt = new Map<Viewer, Seen[]>()
        for (const v of NAMED) mqtt.set(v, ofJane(live.get(v)!.messages()))
        mqtt.set('anon', ofJane(anon.got))
        for (const [v, got] of mqtt) check(() => assert.deepEqual(got.map(typeOf), rule.expect[v] ?? [], `${v} over MQTT`))
        for (const v of rule.blurred ?? []) {
          for (const s of mqtt.get(v)!) {
            const text = JSON.stringify(s.m)
            check(() => assert.ok(!text.includes('51.5007') && !text.includes('0.1246'), `${v} never gets the exact place: ${text}`))
            for (const f of ['SSID', 'BSSID', 'inregions', 'inrids', 'addr', 'image', 'imagename', 'tag', 'desc']) check(() => assert.ok(typeof s.m === 'string' || !(f in s.m), `${v}: ${f} withheld`))
          }
        }

        for (const v of rule.presence ?? []) {
          for (const s of mqtt.get(v)!) {
            if (typeof s.m === 'string') continue
            const text = JSON.stringify(s.m)
            check(() => assert.ok(!text.includes('51.5007') && !text.includes('0.1246'), `${v} never gets the exact fix: ${text}`))
            if ('lat' in s.m) check(() => assert.deepEqual([(s.m as Msg).lat, (s.m as Msg).lon, (s.m as Msg).inregions], [OFFICE.lat, OFFICE.lon, ['office']], `${v} gets the office's centre: ${text}`))
            if (typeOf(s) === 'location') check(() => assert.equal(((s.m as Msg).presence as Msg | undefined)?.place, 'office', `${v}: presence names the place`))
            for (const f of ['SSID', 'BSSID', 'inrids', 'addr', 'image', 'imagename', 'tag', 'desc', 'batt', 'conn', 'alt']) check(() => assert.ok(!(f in (s.m as Msg)), `${v}: ${f} withheld`))
          }
        }

        // MQTT, retained on subscribe: what live delivery gave for the messages published retained.
        for (const v of NAMED) {
          const later = await Receiver.connect(hub, v, { clientId: `${v}-later-${t}` })
          await later.subscribe(`${DEVICE}`, `${DEVICE}/+`)
          const expected = mqtt.get(v)!.filter((s) => (s.topic === DEVICE && typeOf(s) === 'location' && (s.m as Msg).tst === t) || typeOf(s) === 'card')
          await waitFor(`${v}'s retained messages`, () => ofJane(later.messages()).length >= expected.length)
          const retained = ofJane(later.messages())
          await later.end()
          const byTopic = (a: Seen, b: Seen) => a.topic.localeCompare(b.topic)
          check(() => assert.deepEqual(retained.sort(byTopic).map((s) => [s.topic, s.m]), expected.sort(byTopic).map((s) => [s.topic, s.m]), `${v}: retained = live`))
        }

        for (const v of NAMED) {
          const got = mqtt.get(v)!
          const locs = got.filter((s) => s.topic === DEVICE && typeOf(s) === 'location').map((s) => s.m as Msg)
          const newest = locs.find((m) => m.tst === t)
          const cardSeen = got.find((s) => typeOf(s) === 'card')?.m as Msg | undefined
          const as = { user: v, password: pw(v) }

          // /ws/last, live: every pushed type, as MQTT gave it.
          const pushed = feeds.get(v)!.of('jane').filter((m) => m.device === 'phone')
          const pushable = got.filter((s) => PUSHED.has(typeOf(s)))
          check(() => assert.deepEqual(pushed.map((m) => [m.topic, strip(m)]), pushable.map((s) => [s.topic, s.m]), `${v}: /ws/last pushes what MQTT delivers`))

          // /api/0/last: the newest location as MQTT gave it, with the card's name and face only if MQTT gave the card.
          const last = (await (await hub.http('/api/0/last?user=jane&device=phone', as)).json()) as Msg[]
          check(() => assert.deepEqual(last.map((m) => strip(m)), newest ? [newest] : [], `${v}: /api/0/last`))
          if (newest) {
            check(() => assert.equal(last[0].name, cardSeen?.name, `${v}: /api/0/last name`))
            check(() => assert.equal(last[0].face, cardSeen?.face, `${v}: /api/0/last face`))
          }

          // /ws/last after LAST: the same as /api/0/last.
          const feed = feeds.get(v)!
          feed.clear()
          feed.ws.send('LAST')
          await feed.settle()
          check(() => assert.deepEqual(feed.of('jane').filter((m) => m.device === 'phone'), last, `${v}: LAST = /api/0/last`))

          // HTTP mode: the friends part of the answer to a post from the viewer's own phone.
          const res = await hub.http('/pub', { ...as, method: 'POST', headers: { 'content-type': 'application/json', 'x-limit-u': v, 'x-limit-d': 'http' }, body: JSON.stringify({ _type: 'location', lat: 1, lon: 1, tst: t, tid: 'ht' }) })
          check(() => assert.equal(res.status, 200))
          const friends = ((await res.json()) as Msg[]).filter((m) => m.topic === DEVICE)
          const expectPub: Msg[] = []
          if (cardSeen) expectPub.push({ ...cardSeen, tid: newest?.tid ?? cardSeen.tid ?? 'ne' })
          if (newest) expectPub.push(newest)
          check(() => assert.deepEqual(friends.map((m) => strip(m, m._type === 'card' ? ['name', 'face'] : [])), expectPub, `${v}: /pub answer`))

          // /api/0/locations: this round's locations as MQTT gave them, unless the view is live only.
          const hist = await hub.http(`/api/0/locations?user=jane&device=phone&from=${t - 15}&to=${t}`, as)
          if (locs.length === 0) check(() => assert.equal(hist.status, 403, `${v}: /api/0/locations refused`))
          else {
            const body = (await hist.json()) as { data: Msg[] }
            check(() => assert.deepEqual(body.data.map((m) => strip(m)), rule.liveOnly?.includes(v) ? [] : locs, `${v}: /api/0/locations`))
          }
        }

        // Nobody signed in gets nothing over HTTP.
        assert.equal((await hub.http('/api/0/last', { user: '' })).status, 401)
        assert.deepEqual(problems, [], 'every channel shows what MQTT shows')
      } finally {
        if (rule.places) {
          const since = hub.logs().length
          rmSync(join(hub.aclDir, 'places.yml'))
          await hub.waitForLog(/Reloaded places/, 5000, since)
        }
        await Promise.all([...live.values()].map((r) => r.end()))
        for (const f of feeds.values()) f.close()
        await anon.end()
      }
    })
  }
})
