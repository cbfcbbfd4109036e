/**
 * An API over a world: the real engine's events, projections caught up, fastify ready for inject, and
 * an admin key that `get` and `send` authenticate with.
 */
import type { Database } from 'better-sqlite3';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { openViews, projectionsFor } from '../../projections/index.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../projections/runner.ts';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics, instrumentStore, type Metrics } from '../../src/api/metrics.ts';
import { type ApiKeyRegistry, startApiKeyRegistry } from '../../src/apikeys/registry.ts';
import type { PivotConfig } from '../../src/config/index.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { keyFrom, type TestKey } from '../helpers/apiKeys.ts';
import { type World, world } from '../projections/support.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON responses loosely
type Json = any;

export interface ApiWorld extends World {
  app: FastifyInstance;
  /** The read-model database the API reads. */
  views: Database;
  runner: ProjectionRunner;
  metrics: Metrics;
  apiKeys: ApiKeyRegistry;
  /** The admin key `get` and `send` use; `headers` carries it for `app.inject`. */
  admin: TestKey;
  headers: { authorization: string };
  /** Folds what the engine stored so far into the views. */
  sync(): Promise<void>;
  get(url: string): Promise<{ status: number; body: Json }>;
  send(method: 'POST' | 'PATCH', url: string, payload: unknown): Promise<{ status: number; body: Json }>;
}

export async function apiWorld(
  options: { config?: PivotConfig; logger?: FastifyBaseLogger } = {},
): Promise<ApiWorld> {
  const metrics = createMetrics();
  const store = instrumentStore(createInMemoryEventStore(), metrics);
  const w = await world({ store, ...(options.config ? { config: options.config } : {}) });
  const views = openViews(':memory:');
  const runner = createProjectionRunner({ store, db: views, projections: projectionsFor(w.config) });
  await runner.catchUp();
  // Keys in a store of their own, so the world's events keep the positions these tests assert; the
  // tests over a real port (server.test.ts, auth.test.ts) keep them in the same store, as deployed.
  const keyStore = createInMemoryEventStore();
  const apiKeys = await startApiKeyRegistry({ store: keyStore, follow: false });
  const admin = await keyFrom(apiKeys, 'admin');
  const headers = { authorization: admin.authorization };
  const app = buildApi({
    store,
    views,
    trunks: w.trunks,
    runner,
    metrics,
    apiKeys,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await app.ready();
  return {
    ...w,
    app,
    views,
    runner,
    metrics,
    apiKeys,
    admin,
    headers,
    sync: async () => {
      await runner.catchUp();
    },
    async get(url) {
      const response = await app.inject({ method: 'GET', url, headers });
      return {
        status: response.statusCode,
        body: String(response.headers['content-type']).includes('json') ? response.json() : response.body,
      };
    },
    async send(method, url, payload) {
      const response = await app.inject({ method, url, headers, payload: payload as object });
      return { status: response.statusCode, body: response.json() };
    },
    async close() {
      await app.close();
      views.close();
      await apiKeys.stop();
      await keyStore.close();
      await w.close();
    },
  };
}
