/** One alert as every channel delivers it. The first fields are ntfy's JSON publish body. */
export interface AlertMessage {
  topic?: string
  title: string
  message: string
  tags: string[]
  /** enter, leave or not-arrived */
  event: 'enter' | 'leave' | 'not-arrived'
  user: string
  device?: string
  place: string
  /** When it happened, epoch s. */
  tst: number
}
