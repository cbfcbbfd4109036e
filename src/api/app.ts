/**
 * The HTTP API (fastify, JSON): trunks, calls (call log, events, replay), transfers, billing, audit,
 * /healthz, /metrics and /openapi.json describing it all. `buildApi` does not listen (tests use
 * `inject`); `startApi` (start.ts) does.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { auditRoutes } from './audit.ts';
import { billingRoutes } from './billing.ts';
import { callRoutes } from './calls.ts';
import { installErrorHandling } from './errors.ts';
import { healthRoutes } from './health.ts';
import { createMetrics } from './metrics.ts';
import { type ApiContext, openApiDocument, type RouteSpec, registerRoutes } from './routes.ts';
import { transferRoutes } from './transfers.ts';
import { trunkRoutes } from './trunks.ts';

export interface BuildApiOptions extends Omit<ApiContext, 'metrics'> {
  metrics?: ApiContext['metrics'];
  /** fastify's logger (pino) options; off by default. */
  logger?: boolean;
}

/** `a=1&a=2&b=3` -> `{ a: ['1', '2'], b: '3' }`, for form-encoded bodies (`curl -d TransferMode=...`). */
function parseForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

export function buildApi(options: BuildApiOptions): FastifyInstance {
  const context: ApiContext = { ...options, metrics: options.metrics ?? createMetrics() };
  context.metrics.bindViews({ views: context.views, ...(context.runner ? { runner: context.runner } : {}) });
  const app = Fastify({
    logger: options.logger ?? false,
    ajv: {
      // Unknown parameters are a 400 naming them, not silently dropped; query strings are coerced.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, parseForm(body as string)),
  );
  installErrorHandling(app);
  const routes: RouteSpec[] = [
    ...trunkRoutes(context),
    ...callRoutes(context),
    ...transferRoutes(context),
    ...billingRoutes(context),
    ...auditRoutes(context),
    ...healthRoutes(context),
  ];
  const document = openApiDocument(
    [
      ...routes,
      {
        method: 'GET',
        url: '/openapi.json',
        tag: 'Operations',
        summary: 'This document',
        responses: { 200: { description: 'OpenAPI 3.1', schema: { type: 'object' } } },
        handler: () => undefined,
      },
    ],
    { title: 'sip-pivot', version: '0.1.0' },
  );
  registerRoutes(app, routes);
  app.get('/openapi.json', async () => document);
  return app;
}
