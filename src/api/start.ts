/**
 * `startApi`: the HTTP API listening on `config.http` (or the host/port given), for `pivot serve` and
 * `pivot api`. The caller owns the store, the trunk registry and the projections; stop() only closes
 * the listener.
 */

import type { FastifyInstance } from 'fastify';
import { type RunningProjections, startProjections } from '../../projections/index.ts';
import { type ApiKeyRegistry, startApiKeyRegistry } from '../apikeys/registry.ts';
import type { PivotConfig } from '../config/index.ts';
import type { PeerHealth } from '../engine/peerHealth.ts';
import { type Logger, silentLogger } from '../log.ts';
import type { EventStore } from '../store/port.ts';
import { openTrace } from '../trace/open.ts';
import type { TraceStore } from '../trace/store.ts';
import { startTrunkRegistry, type TrunkRegistry } from '../trunks/registry.ts';
import { type BuildApiOptions, buildApi } from './app.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { type EventPublisher, startEventPublisher } from './publishEvents.ts';

export interface StartApiOptions extends Omit<BuildApiOptions, 'metricsToken'> {
  config: Pick<PivotConfig, 'http'>;
  host?: string;
  port?: number;
  log?: Logger;
}

export interface RunningApi {
  app: FastifyInstance;
  /** The address it listens on (port 0 in the config picks a free one). */
  host: string;
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const log = options.log ?? silentLogger;
  const { metricsToken } = options.config.http;
  const app = buildApi({
    ...options,
    ...(metricsToken !== undefined ? { metricsToken } : {}),
    ...(log.pino ? { logger: log.pino } : {}),
  });
  await app.listen({
    host: options.host ?? options.config.http.host,
    port: options.port ?? options.config.http.port,
  });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('HTTP API: no TCP address');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log('info', 'HTTP API listening', { url });
  return {
    app,
    host: address.address,
    port: address.port,
    url,
    async stop() {
      await app.close();
    },
  };
}

export interface ReadSideOptions {
  config: PivotConfig;
  /** The event store (wrap it with `instrumentStore(store, metrics)` to get append latency). */
  store: EventStore;
  log?: Logger;
  metrics?: Metrics;
  /** A registry the engine already reads (`pivot serve`); one is started otherwise. */
  trunks?: TrunkRegistry;
  /** The SIP trace the adapter writes (`pivot serve`); opened from the config otherwise. */
  trace?: TraceStore;
  /** The engine's health checks of its SIP peers, shown in /healthz (`pivot serve`). */
  peerHealth?: PeerHealth;
  host?: string;
  port?: number;
  /** Publish every event on NATS (`pivot.events.<type>`) when the config's bus is NATS. */
  publishEvents?: boolean;
}

export interface RunningReadSide {
  trunks: TrunkRegistry;
  apiKeys: ApiKeyRegistry;
  projections: RunningProjections;
  api: RunningApi;
  metrics: Metrics;
  stop(): Promise<void>;
}

/**
 * Everything `pivot api` runs, and what `pivot serve` adds next to the engine: the trunk registry
 * (unless given), the API keys, the projections (catch up, then follow `$all`) and the HTTP API.
 */
export async function startReadSide(options: ReadSideOptions): Promise<RunningReadSide> {
  const log = options.log ?? silentLogger;
  const metrics = options.metrics ?? createMetrics({ processMetrics: true });
  const ownTrunks = options.trunks === undefined;
  const trunks =
    options.trunks ?? (await startTrunkRegistry({ store: options.store, config: options.config, log }));
  const apiKeys = await startApiKeyRegistry({ store: options.store, log });
  if (apiKeys.active().length === 0) {
    log(
      'warn',
      'no API key exists, so every /v1 request is refused with 401: create the first with `npx pivot keys create --role admin --config <this config file>`',
    );
  }
  const projections = await startProjections({ config: options.config, store: options.store, log });
  const ownTrace = options.trace === undefined ? openTrace(options.config, log) : undefined;
  const trace = options.trace ?? ownTrace;
  // `pivot api` with the NATS bus: the events go out on `pivot.events.<type>` too (JetStream keeps one
  // copy per position, so several API processes may publish). The API serves even when NATS is down.
  const { bus } = options.config;
  let publisher: EventPublisher | undefined;
  if (options.publishEvents && bus.kind === 'nats') {
    publisher = await startEventPublisher({ servers: bus.url, store: options.store, log }).catch(
      (error: unknown) => {
        log('error', 'events are not published on NATS', { error: String(error) });
        return undefined;
      },
    );
  }
  const api = await startApi({
    config: options.config,
    store: options.store,
    views: projections.db,
    runner: projections.runner,
    trunks,
    apiKeys,
    metrics,
    log,
    ...(trace ? { trace } : {}),
    ...(options.peerHealth ? { peerHealth: options.peerHealth } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return {
    trunks,
    apiKeys,
    projections,
    api,
    metrics,
    async stop() {
      await api.stop();
      await publisher?.stop();
      await projections.stop();
      ownTrace?.close();
      await apiKeys.stop();
      if (ownTrunks) await trunks.stop();
    },
  };
}
