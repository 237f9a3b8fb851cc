import type { Aedes, Client } from 'aedes'

interface Parsing { _parser?: { settings?: { protocolVersion?: number; bridgeMode?: boolean } } }

/**
 * mqtt-packet's parser keeps the CONNECT it parsed as its settings for the life of the connection, the
 * password among it, although it reads only two fields of it again (the protocol version, and whether
 * the peer is a bridge). Once a client is signed in, only those two are kept: a heap dump of a hub
 * then holds no one's password, and an idle phone costs the CONNECT's strings and buffers less.
 */
export function forgetConnectPackets(aedes: Aedes): void {
  aedes.on('client', (client: Client) => {
    const parser = (client as unknown as Parsing)._parser
    const s = parser?.settings
    if (!parser || !s) return
    parser.settings = s.bridgeMode ? { protocolVersion: s.protocolVersion, bridgeMode: true } : { protocolVersion: s.protocolVersion }
  })
}
