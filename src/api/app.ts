/**
 * The HTTP API (fastify, JSON): trunks, calls (call log, events, replay), transfers, billing, audit,
 * /healthz, /metrics and /openapi.json describing it all. `buildApi` does not listen (tests use
 * `inject`); `startApi` (start.ts) does. Who may call what: auth.ts.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { createAuthenticator } from '../apikeys/authenticate.ts';
import type { ApiKeyRegistry } from '../apikeys/registry.ts';
import { auditRoutes } from './audit.ts';
import { installAccessControl } from './auth.ts';
import { billingRoutes } from './billing.ts';
import { callRoutes } from './calls.ts';
import { registerConsole } from './console.ts';
import { installErrorHandling } from './errors.ts';
import { eventFeeds } from './events.ts';
import { healthRoutes } from './health.ts';
import { keyRoutes } from './keys.ts';
import { machineRoutes } from './machines.ts';
import { messageRoutes } from './messages.ts';
import { createMetrics } from './metrics.ts';
import { type ApiContext, openApiDocument, type RouteSpec, registerRoutes } from './routes.ts';
import { statusCallbackRoutes } from './statusCallbacks.ts';
import { transferRoutes } from './transfers.ts';
import { trunkRoutes } from './trunks.ts';

export interface BuildApiOptions extends Omit<ApiContext, 'metrics'> {
  metrics?: ApiContext['metrics'];
  /** The keys requests are checked against (required: there is no unauthenticated mode). */
  apiKeys: ApiKeyRegistry;
  /** When set, /metrics needs `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  /**
   * The process's pino logger, for fastify's own lines (a failed request's error); quiet when absent.
   * Requests are not logged one by one.
   */
  logger?: FastifyBaseLogger;
}

export function buildApi(options: BuildApiOptions): FastifyInstance {
  const context: ApiContext = { ...options, metrics: options.metrics ?? createMetrics() };
  context.metrics.bindViews({ views: context.views, ...(context.runner ? { runner: context.runner } : {}) });
  const app = Fastify({
    ...(options.logger
      ? {
          loggerInstance: options.logger,
          logController: new LogController({ disableRequestLogging: true }),
        }
      : { logger: false }),
    ajv: {
      // Unknown parameters are a 400 naming them, not silently dropped; query strings are coerced.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  });
  installErrorHandling(app);
  installAccessControl(app, {
    authenticator: createAuthenticator(options.apiKeys),
    ...(options.metricsToken !== undefined ? { metricsToken: options.metricsToken } : {}),
  });
  const feeds = eventFeeds(context);
  app.addHook('preClose', async () => feeds.closeStreams());
  const routes: RouteSpec[] = [
    ...trunkRoutes(context),
    ...callRoutes(context),
    ...messageRoutes(context),
    ...machineRoutes(),
    ...transferRoutes(context),
    ...billingRoutes(context),
    ...auditRoutes(context),
    ...keyRoutes({ ...context, apiKeys: options.apiKeys }),
    ...feeds.routes,
    ...statusCallbackRoutes(context),
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
        access: 'open',
        responses: { 200: { description: 'OpenAPI 3.1', schema: { type: 'object' } } },
        handler: () => undefined,
      },
    ],
    { title: 'sip-pivot', version: '0.1.0' },
  );
  registerRoutes(app, routes);
  registerConsole(app);
  app.get('/openapi.json', { config: { access: 'open' } }, async () => document);
  return app;
}
