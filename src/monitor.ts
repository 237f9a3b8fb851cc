/** The part of aedes the monitor listens to. */
export interface PublishEvents {
  on(event: 'publish', listener: (packet: { topic: string }, client: unknown) => void): unknown
}

const KEEP = 256

/**
 * What the Recorder's `monitor` file holds — when a message last arrived and on which topic — kept
 * for the newest topics, so each caller can be told the newest one they may read.
 */
export class Monitor {
  /** topic → epoch s, oldest first (a Map keeps insertion order; re-inserting moves a topic last). */
  private readonly recent = new Map<string, number>()

  attach(events: PublishEvents): void {
    events.on('publish', (packet) => { if (!packet.topic.startsWith('$SYS')) this.seen(packet.topic) })
  }

  seen(topic: string, at = Math.floor(Date.now() / 1000)): void {
    this.recent.delete(topic)
    this.recent.set(topic, at)
    if (this.recent.size > KEEP) this.recent.delete(this.recent.keys().next().value as string)
  }

  /** The newest arrival whose topic `visible` accepts. */
  latest(visible: (topic: string) => boolean): { at: number; topic: string } | undefined {
    const entries = [...this.recent]
    for (let i = entries.length - 1; i >= 0; i--) {
      const [topic, at] = entries[i]
      if (visible(topic)) return { at, topic }
    }
    return undefined
  }
}
