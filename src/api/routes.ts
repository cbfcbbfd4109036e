/**
 * A route is declared once — method, path, schemas, summary, who may call it, handler — and both
 * registered with fastify (which validates requests against the schemas) and described in
 * /openapi.json.
 */

import type { Database } from 'better-sqlite3';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ProjectionRunner } from '../../projections/runner.ts';
import type { ApiKeyRegistry } from '../apikeys/registry.ts';
import type { PeerHealth } from '../engine/peerHealth.ts';
import type { EventStore } from '../store/port.ts';
import type { TraceStore } from '../trace/store.ts';
import type { TrunkRegistry } from '../trunks/registry.ts';
import type { Access } from './auth.ts';
import type { Metrics } from './metrics.ts';
import { wholeNumberCheck } from './numbers.ts';
import { errorSchema, type JsonSchema } from './schemas.ts';

export interface ApiContext {
  store: EventStore;
  /** The read-model database the projections maintain. */
  views: Database;
  trunks: TrunkRegistry;
  runner?: ProjectionRunner;
  metrics: Metrics;
  /** The SIP trace (absent when `trace.enabled` is false). */
  trace?: Pick<TraceStore, 'messages' | 'maxMessagesPerCall'>;
  /** The SIP peers' health checks, when this process runs them (`pivot serve` with `healthChecks`). */
  peerHealth?: PeerHealth;
  /** The API's keys (/v1/Keys); absent in a bare API built for a test of other routes. */
  apiKeys?: ApiKeyRegistry;
}

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH';
  /** fastify syntax: `/v1/Calls/:Sid`. */
  url: string;
  tag: string;
  summary: string;
  /** Default: a key of any role for GET, an admin key otherwise (auth.ts). */
  access?: Access;
  querystring?: JsonSchema;
  params?: JsonSchema;
  body?: JsonSchema;
  /** Documented responses (status -> description and schema); errors are added for every route. */
  responses: Record<number, { description: string; schema?: JsonSchema; contentType?: string }>;
  handler(request: FastifyRequest, reply: FastifyReply): Promise<unknown> | unknown;
}

export const accessOf = (route: Pick<RouteSpec, 'access' | 'method'>): Access =>
  route.access ?? (route.method === 'GET' ? 'read' : 'admin');

export function registerRoutes(app: FastifyInstance, routes: RouteSpec[]): void {
  for (const route of routes) {
    const check = route.querystring ? wholeNumberCheck(route.querystring) : undefined;
    app.route({
      method: route.method,
      url: route.url,
      config: { access: accessOf(route) },
      ...(check ? { preValidation: check } : {}),
      schema: {
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.params ? { params: route.params } : {}),
        ...(route.body ? { body: route.body } : {}),
      },
      handler: route.handler,
    });
  }
}

function parametersOf(route: RouteSpec) {
  const list: Record<string, unknown>[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.querystring],
  ] as const) {
    const properties = (schema?.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((schema?.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...rest } = property;
      list.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: rest,
        ...(description ? { description } : {}),
      });
    }
  }
  return list;
}

/** OpenAPI 3.1 for the routes (JSON Schema 2020-12 compatible, so the schemas are used as they are). */
export function openApiDocument(routes: RouteSpec[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema || response.contentType
          ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema ?? {} } } }
          : {}),
      };
    }
    const error = (description: string) => ({
      description,
      content: { 'application/json': { schema: errorSchema } },
    });
    if (route.querystring || route.params || route.body)
      responses['400'] ??= error('bad input; `field` names it');
    if (route.params) responses['404'] ??= error('unknown sid');
    const access = accessOf(route);
    if (access === 'read' || access === 'admin') {
      responses['401'] ??= error('no API key, or an unknown, revoked or wrong one');
      if (access === 'admin') responses['403'] ??= error('a read key cannot make changes');
    }
    if (route.body) responses['415'] ??= error('the body is not application/json');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      tags: [route.tag],
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
      parameters: parametersOf(route),
      ...securityOf(access),
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'basic',
          description: 'an API key (`pivot keys create`): its sid (SK…) as user name, its secret as password',
        },
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          description: '/metrics only, and only when `http.metricsToken` is configured',
        },
      },
    },
    security: [{ apiKey: [] }],
    paths,
  };
}

/** An operation's own security requirement, where it differs from the document's (an API key). */
function securityOf(access: Access) {
  if (access === 'open') return { security: [] };
  // Either requirement satisfies it: no token configured means open.
  if (access === 'metrics') return { security: [{ metricsToken: [] }, {}] };
  return {};
}
