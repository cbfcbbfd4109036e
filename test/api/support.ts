/** An API over a world: the real engine's events, projections caught up, fastify ready for inject. */
import type { FastifyInstance } from 'fastify';
import { openViews, projectionsFor } from '../../projections/index.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../projections/runner.ts';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics, instrumentStore, type Metrics } from '../../src/api/metrics.ts';
import type { PivotConfig } from '../../src/config/index.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { type World, world } from '../projections/support.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON responses loosely
type Json = any;

export interface ApiWorld extends World {
  app: FastifyInstance;
  runner: ProjectionRunner;
  metrics: Metrics;
  /** Folds what the engine stored so far into the views. */
  sync(): Promise<void>;
  get(url: string): Promise<{ status: number; body: Json }>;
  send(method: 'POST' | 'PATCH', url: string, payload: unknown): Promise<{ status: number; body: Json }>;
}

export async function apiWorld(options: { config?: PivotConfig } = {}): Promise<ApiWorld> {
  const metrics = createMetrics();
  const store = instrumentStore(createInMemoryEventStore(), metrics);
  const w = await world({ store, ...(options.config ? { config: options.config } : {}) });
  const views = openViews(':memory:');
  const runner = createProjectionRunner({ store, db: views, projections: projectionsFor(w.config) });
  await runner.catchUp();
  const app = buildApi({ store, views, trunks: w.trunks, runner, metrics });
  await app.ready();
  return {
    ...w,
    app,
    runner,
    metrics,
    sync: async () => {
      await runner.catchUp();
    },
    async get(url) {
      const response = await app.inject({ method: 'GET', url });
      return {
        status: response.statusCode,
        body: String(response.headers['content-type']).includes('json') ? response.json() : response.body,
      };
    },
    async send(method, url, payload) {
      const response = await app.inject({ method, url, payload: payload as object });
      return { status: response.statusCode, body: response.json() };
    },
    async close() {
      await app.close();
      views.close();
      await w.close();
    },
  };
}
