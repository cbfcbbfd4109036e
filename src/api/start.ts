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
import { startTrunkRegistry, type TrunkRegistry } from '../trunks/registry.ts';
import { type BuildApiOptions, buildApi } from './app.ts';
import { createMetrics, type Metrics } from './metrics.ts';

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
  const app = buildApi({ ...options, ...(metricsToken !== undefined ? { metricsToken } : {}) });
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
  /** The engine's health checks of its SIP peers, shown in /healthz (`pivot serve`). */
  peerHealth?: PeerHealth;
  host?: string;
  port?: number;
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
  const api = await startApi({
    config: options.config,
    store: options.store,
    views: projections.db,
    runner: projections.runner,
    trunks,
    apiKeys,
    metrics,
    log,
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
      await projections.stop();
      await apiKeys.stop();
      if (ownTrunks) await trunks.stop();
    },
  };
}
