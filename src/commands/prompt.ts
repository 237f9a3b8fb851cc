import { createInterface } from 'node:readline'

/**
 * Asks for a password without echoing it. Without a terminal (a script piping into us) it reads one
 * line from stdin, so `echo pw | owntracks-hub user add jane` works too.
 */
export async function promptPassword(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin })
    for await (const line of rl) { rl.close(); return line }
    throw new Error('no password given: use --password PW or type it at the prompt')
  }
  const ask = (q: string) => new Promise<string>((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true })
    const out = rl as unknown as { _writeToOutput: (s: string) => void }
    out._writeToOutput = (s: string) => { if (s.includes(q)) process.stdout.write(q) }
    rl.question(q, (a) => { rl.close(); process.stdout.write('\n'); resolve(a) })
  })
  const a = await ask(question)
  const b = await ask('Again: ')
  if (a !== b) throw new Error('the two passwords differ; nothing was changed')
  if (a === '') throw new Error('an empty password is not allowed')
  return a
}
