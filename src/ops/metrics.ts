import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ConnectionCounts } from '../mqtt/limits.js'
import type { Stats } from '../stats.js'

export interface MetricSources {
  stats: Stats
  connections: () => ConnectionCounts | undefined
  devices: () => number
  /** false while the history cannot be written (a full disk): see store/write-guard.ts. */
  writable: () => boolean
}

/** Counters kept in Stats, exposed under these names; they are read at scrape time. */
const COUNTERS: [string, string, (s: Stats) => number][] = [
  ['othub_mqtt_connections_total', 'MQTT connections accepted (CONNECT authenticated)', (s) => s.connections],
  ['othub_mqtt_connections_refused_total', 'MQTT connections closed at once by max-connections', (s) => s.connectionsRefused],
  ['othub_mqtt_auth_failures_total', 'Refused logins (MQTT CONNACK 5)', (s) => s.authFailures],
  ['othub_auth_throttled_total', 'Logins refused unchecked by auth-rate-account/-address (MQTT and HTTP)', (s) => s.authThrottled],
  ['othub_mqtt_client_id_refused_total', "Logins refused because the client id belongs to another user (CONNACK 2)", (s) => s.clientIdRefused],
  ['othub_mqtt_pending_refused_total', 'Connections closed before login by max-pending / max-pending-per-address', (s) => s.pendingRefused],
  ['othub_http_connections_refused_total', 'HTTP connections closed at once by max-http-per-address', (s) => s.httpRefused],
  ['othub_mqtt_protocol_errors_total', 'Connections closed for a protocol violation (SUBSCRIBE filter with NUL or invalid UTF-8)', (s) => s.protocolErrors],
  ['othub_devices_refused_total', 'Publishes from a device over max-devices-per-user (acknowledged, not stored or delivered)', (s) => s.devicesRefused],
  ['othub_mqtt_messages_received_total', 'PUBLISH packets received', (s) => s.messagesIn],
  ['othub_mqtt_messages_sent_total', 'PUBLISH packets sent to subscribers', (s) => s.messagesOut],
  ['othub_mqtt_publish_denied_total', 'Publishes dropped by the access rules (acknowledged, not delivered)', (s) => s.deniedPublish],
  ['othub_mqtt_delivery_denied_total', 'Deliveries withheld from a subscriber by the access rules', (s) => s.deniedDelivery],
  ['othub_mqtt_publish_too_large_total', 'Publishes dropped for a payload over max-payload', (s) => s.droppedTooLarge],
  ['othub_mqtt_publish_throttled_total', 'Publishes slowed down by publish-rate', (s) => s.publishesThrottled],
  ['othub_mqtt_reads_waited_total', 'Reads of a connection that waited for their turn: the hub had much read and not yet handled', (s) => s.readsWaited],
  ['othub_mqtt_slow_consumers_total', 'Subscribers disconnected for more than max-queued-bytes waiting', (s) => s.slowConsumers],
  ['othub_decode_failures_total', 'OwnTracks payloads that failed to decode (delivered, not stored)', (s) => s.decodeFailures],
  ['othub_history_writes_total', 'Messages stored in the history', (s) => s.stored],
  ['othub_history_write_failures_total', 'Messages not stored because the history write failed (not acknowledged)', (s) => s.storeFailures],
  ['othub_memory_collections_total', 'Full garbage collections run because the hub went quiet after a busy spell', (s) => s.memoryCollections],
]

export interface Metrics {
  registry: Registry
  /** Records one HTTP request (http/ops-routes.ts). */
  http(method: string, route: string, status: number, seconds: number): void
}

/**
 * Prometheus metrics: the Stats counters, gauges read at scrape time, history commit latency,
 * HTTP requests, and prom-client's process metrics (RSS, CPU, heap, event-loop lag).
 */
export function createMetrics(src: MetricSources): Metrics {
  const registry = new Registry()
  // The event-loop lag histogram samples with a timer: prom-client's 10 ms woke an idle hub 100 times a
  // second (1.7% of a core doing nothing, on a Raspberry Pi too); lag is still measured to the
  // millisecond, just sampled ten times a second (idle: 3.5 ms of CPU a second instead of 17).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 })
  for (const [name, help, read] of COUNTERS) {
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read(src.stats)) } })
  }
  const bytes = () => src.connections()?.bytes() ?? { in: 0, out: 0 }
  new Counter({ name: 'othub_mqtt_received_bytes_total', help: 'Bytes received on MQTT connections', registers: [registry], collect() { this.reset(); this.inc(bytes().in) } })
  new Counter({ name: 'othub_mqtt_sent_bytes_total', help: 'Bytes sent on MQTT connections', registers: [registry], collect() { this.reset(); this.inc(bytes().out) } })
  new Gauge({ name: 'othub_mqtt_connections', help: 'MQTT connections open now', registers: [registry], collect() { this.set(src.connections()?.open() ?? 0) } })
  new Gauge({ name: 'othub_history_devices', help: 'Devices in the history', registers: [registry], collect() { this.set(src.devices()) } })
  new Gauge({ name: 'othub_history_writable', help: '1 while the history accepts writes, 0 while it refuses them (disk full)', registers: [registry], collect() { this.set(src.writable() ? 1 : 0) } })
  registry.registerMetric(src.stats.commitSeconds)
  const requests = new Counter({ name: 'othub_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers: [registry] })
  const latency = new Histogram({
    name: 'othub_http_request_seconds', help: 'Time to the response head of HTTP requests', labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: [registry],
  })
  return {
    registry,
    http(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) })
      latency.observe({ method, route }, seconds)
    },
  }
}
