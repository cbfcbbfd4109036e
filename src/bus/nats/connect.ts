/**
 * The client connection: reconnects forever with a short wait, so a nats-server restart is an outage
 * of seconds, not the end of the process. Subscriptions are re-established by the client; messages
 * published while disconnected are buffered and flushed on reconnect.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ResolvedNatsBusOptions } from './options.ts';

export async function connectNats(options: ResolvedNatsBusOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: options.servers,
    ...(options.name ? { name: options.name } : {}),
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectTimeWaitMs,
    reconnectJitter: Math.min(100, options.reconnectTimeWaitMs),
    // Notice a dead server within seconds even when no traffic flows.
    pingInterval: 5_000,
    maxPingOut: 2,
    // Every request (each published input awaits its PubAck, each command its adapter's answer) would
    // otherwise capture a stack trace up front for an error it almost never throws: a few per cent of
    // both processes' CPU under load.
    noAsyncTraces: true,
  });
  watchStatus(nc, options);
  return nc;
}

function watchStatus(nc: NatsConnection, { log }: ResolvedNatsBusOptions): void {
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          log('warn', 'nats: disconnected', { server: status.server });
          break;
        case 'reconnect':
          log('info', 'nats: reconnected', { server: status.server });
          break;
        case 'error':
          log('error', 'nats: server error', { error: String(status.error) });
          break;
        default:
          break;
      }
    }
  })().catch(() => {});
}
