/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal: piped or logged output
 * gets the summary alone, not a stream of carriage returns.
 */
export class Progress {
  private last = 0
  private readonly tty: boolean

  constructor(private readonly total: number, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = out.isTTY === true && total > 0
  }

  update(done: number, note: string): void {
    if (!this.tty) return
    const now = Date.now()
    if (now - this.last < 100) return
    this.last = now
    const frac = Math.min(1, done / this.total)
    const width = 30
    const filled = Math.round(frac * width)
    this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${note}\x1b[K`)
  }

  finish(): void {
    if (this.tty) this.out.write('\r\x1b[K')
  }
}
