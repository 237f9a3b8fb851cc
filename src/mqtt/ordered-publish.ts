import type { Aedes } from 'aedes'

type Done = (err?: Error | null) => void
interface Emitted { brokerId?: string; brokerCounter?: number }
type Emit = (packet: Emitted, cb?: Done) => void

/**
 * Keeps aedes' emissions in the order publishes were accepted, and discards refused publishes.
 *
 * Order: aedes numbers every publish (`brokerCounter`) when it accepts it, then awaits persistence
 * (retained store, offline queues) before emitting. Those writes complete out of order, and each client
 * drops any delivery whose counter is lower than the last it saw (its dedupe of overlapping
 * subscriptions), so subscribers silently lost retained messages under load (moscajs/aedes#955, #994).
 * Phones publish retained: this is the main path. Rather than serialising the writes, we let them run
 * concurrently and release each emission only once every earlier-numbered publish has emitted or
 * failed. That restores the dedupe's assumption for any persistence and any mix of QoS and retain.
 *
 * Discard: aedes has no "accept but discard" answer for authorizePublish (an error closes the
 * connection), yet Mosquitto drops a denied publish silently and still acknowledges it. The access
 * hook lets such a packet through and adds it to `drop`; it is acknowledged and discarded here.
 */
export function orderPublishes(broker: Aedes, drop: WeakSet<object>): void {
  const b = broker as unknown as { counter: number; id: string; mq: { emit: Emit } }
  const innerEmit = b.mq.emit.bind(b.mq)
  const innerPublish = broker.publish.bind(broker)

  const order: number[] = [] // counters in the order publishes were accepted
  let head = 0
  const open = new Set<number>() // accepted, neither emitted nor failed yet
  const ready = new Map<number, [Emitted, Done | undefined]>()
  let releasing = false

  const release = () => {
    if (releasing) return // an emission published again: the running loop picks it up
    releasing = true
    while (head < order.length) {
      const c = order[head]
      if (open.has(c)) {
        const r = ready.get(c)
        if (!r) break
        ready.delete(c)
        open.delete(c)
        innerEmit(r[0], r[1])
      }
      head++
    }
    if (head > 4096) { order.splice(0, head); head = 0 }
    releasing = false
  }

  b.mq.emit = (packet, cb) => {
    const c = packet.brokerCounter
    if (packet.brokerId === b.id && c !== undefined && open.has(c)) {
      ready.set(c, [packet, cb])
      release()
    } else {
      innerEmit(packet, cb)
    }
  }

  const settle = (c: number) => {
    if (open.delete(c)) ready.delete(c)
    release()
  }

  broker.publish = ((packet: object, client: unknown, done?: Done) => {
    if (typeof client === 'function') { done = client as Done; client = null }
    if (drop.has(packet)) { done?.(null); return }
    // aedes numbers the packet synchronously as the first step of publish, so the number is known now;
    // registering it first also orders emissions that happen synchronously inside the call.
    const c = b.counter + 1
    open.add(c)
    order.push(c)
    ;(innerPublish as (p: unknown, c: unknown, d: Done) => void)(packet, client, (err?: Error | null) => {
      settle(c)
      done?.(err)
    })
    if (b.counter < c) settle(c) // topic refused before numbering: nothing will be emitted
  }) as typeof broker.publish
}
