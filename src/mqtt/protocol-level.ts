import type { Client } from 'aedes'

/** CONNACK with return code 1, "unacceptable protocol level". */
const UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01])

/**
 * A CONNECT with a protocol level the hub does not speak must be answered with CONNACK 1 before the
 * connection closes (MQTT-3.1.2-2), so the client can say why instead of retrying blindly. aedes'
 * packet parser refuses such a CONNECT before aedes sees it and closes without a word; this answers
 * first. It runs before aedes' own error handler, which destroys the socket.
 */
export function answerUnknownProtocol(client: Client): void {
  const c = client as unknown as { _parser: NodeJS.EventEmitter; conn: NodeJS.WritableStream & { destroyed?: boolean }; connected?: boolean }
  c._parser.prependListener('error', (err: Error) => {
    if (err.message === 'Invalid protocol version' && !c.connected && !c.conn.destroyed) c.conn.write(UNACCEPTABLE_PROTOCOL)
  })
}
