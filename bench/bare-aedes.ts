/**
 * The ceiling the hub is measured against: aedes 1.2 with nothing of ours, in-memory
 * (`node dist/bench/bare-aedes.js memory DIR`) or on aedes-persistence-level (`level DIR`).
 * It accepts any login and every topic, decodes and stores nothing. Prints `bare aedes listening PORT`.
 */
import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js'
import { Level } from 'level'

const [kind, dir] = process.argv.slice(2)
const persistence = kind === 'level' ? new AsyncLevelPersistence(new Level<string, Buffer>(dir, { valueEncoding: 'buffer' })) : undefined
const aedes = await Aedes.createBroker(persistence ? { persistence } as never : {})
const server = createServer(aedes.handle)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`bare aedes listening ${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => { server.close(); aedes.close(() => process.exit(0)) })
