import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws'
import type { Broker } from './broker.js'

/** The subprotocols MQTT clients offer (MQTT.js and browsers: 'mqtt'; some 3.1 clients: 'mqttv3.1'). */
const PROTOCOLS = ['mqtt', 'mqttv3.1']

/** One MQTT packet is one WebSocket message; a card with its face is tens of kB, nothing legitimate nears this. */
const MAX_MESSAGE = 16 * 1024 * 1024

/**
 * MQTT over WebSocket. The HTTP side routes upgrade requests for its path (/mqtt) to `handleUpgrade`, on
 * every port it serves (ws:// on HTTP, wss:// on HTTPS). The stream goes to the same broker as TCP clients:
 * same authentication, same access decisions, same logs. `close` ends the connections, which an HTTP
 * server's close() would otherwise wait for.
 */
export function mqttOverWebSocket(broker: Broker): { handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void; close: () => void } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  })
  const open = new Set<WebSocket>()
  return {
    handleUpgrade: (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        open.add(ws)
        ws.once('close', () => open.delete(ws))
        broker.accept(createWebSocketStream(ws), req)
      })
    },
    close: () => {
      for (const ws of open) ws.terminate()
      wss.close()
    },
  }
}
