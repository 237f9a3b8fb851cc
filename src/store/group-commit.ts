interface Waiter { resolve: () => void; reject: (e: Error) => void }

/**
 * Group commit: what arrives while a batch is being committed waits and goes together in the next
 * batch, so a burst of publishes costs a few commits, not one each. Batches commit one at a time, in order.
 */
export class GroupCommit<T> {
  private items: T[] = []
  /** Where a keyed item of the next batch stands in `items` (stageLatest). */
  private readonly keyed = new Map<string, number>()
  private waiters: Waiter[] = []
  private flushing = false

  constructor(private readonly commit: (items: T[]) => Promise<unknown>) {}

  /** Puts an item into the next batch without waiting; a wait() after it covers it. */
  stage(item: T): void { this.items.push(item) }

  /**
   * Puts an item into the next batch in place of one staged under the same key since the last commit:
   * only the newest of them would stand once the batch is written (a device's summary, rewritten by
   * each of its locations in a burst). Nothing else in the batch may write that key.
   */
  stageLatest(key: string, item: T): void {
    const at = this.keyed.get(key)
    if (at !== undefined) { this.items[at] = item; return }
    this.keyed.set(key, this.items.length)
    this.items.push(item)
  }

  /** Resolves once everything staged so far is committed, or rejects with its batch's error. */
  wait(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    if (!this.flushing) { this.flushing = true; setImmediate(() => this.flush()) }
    return p
  }

  /** Items staged for the next batch. */
  get staged(): number { return this.items.length }

  /** A batch is being committed now. */
  get busy(): boolean { return this.flushing }

  /** Resolves when no batch is being committed any more (before closing the store). */
  async idle(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 5))
  }

  private flush(): void {
    const { items, waiters } = this
    if (waiters.length === 0) { this.flushing = false; return }
    this.items = []
    this.keyed.clear() // its positions were into the items just taken
    this.waiters = []
    this.commit(items).then(
      () => { for (const w of waiters) w.resolve() },
      (err: Error) => { for (const w of waiters) w.reject(err) },
    ).finally(() => this.flush())
  }
}
