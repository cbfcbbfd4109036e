/** /healthz and /metrics. */
import type { ApiContext, RouteSpec } from './routes.ts';

export function healthRoutes(context: ApiContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/healthz',
      tag: 'Operations',
      access: 'open',
      summary: 'Liveness: the store answers; projection positions and lag',
      responses: {
        200: {
          description: 'healthy',
          schema: {
            type: 'object',
            properties: {
              Status: { type: 'string', enum: ['ok'] },
              HeadPosition: { type: 'integer' },
              Trunks: { type: 'integer' },
              Peers: {
                type: 'array',
                description: 'carrier gateways and origination addresses health-checked with OPTIONS',
                items: {
                  type: 'object',
                  properties: {
                    Uri: { type: 'string' },
                    Transport: { type: 'string' },
                    Address: { type: 'string' },
                    Port: { type: 'integer' },
                    State: { type: 'string', enum: ['up', 'down', 'unknown'] },
                    Since: { type: ['string', 'null'] },
                    LastStatus: { type: ['integer', 'null'] },
                  },
                },
              },
              Projections: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    Name: { type: 'string' },
                    Position: { type: 'integer' },
                    Lag: { type: 'integer', description: 'events stored after Position, on every backend' },
                    LagSeconds: { type: 'number', description: 'age of the oldest event not projected yet' },
                    Error: { type: ['string', 'null'] },
                  },
                },
              },
            },
          },
        },
        503: { description: 'the event store does not answer' },
      },
      async handler(_request, reply) {
        try {
          const head = await context.store.headPosition();
          const statuses = context.runner ? await context.runner.status() : [];
          const error = context.runner?.lastError() ?? null;
          return {
            Status: 'ok',
            HeadPosition: head,
            Trunks: context.trunks.list().length,
            ...(context.peerHealth
              ? {
                  Peers: context.peerHealth.statuses().map((peer) => ({
                    Uri: peer.uri,
                    Transport: peer.destination.transport,
                    Address: peer.destination.host,
                    Port: peer.destination.port,
                    State: peer.state,
                    Since: peer.since ?? null,
                    LastStatus: peer.lastStatus ?? null,
                  })),
                }
              : {}),
            Projections: statuses.map((s) => ({
              Name: s.name,
              Position: s.position,
              Lag: s.lag,
              LagSeconds: s.lagSeconds,
              Error: error,
            })),
          };
        } catch (error) {
          return reply.status(503).send({ Status: 'unavailable', Error: String(error) });
        }
      },
    },
    {
      method: 'GET',
      url: '/metrics',
      tag: 'Operations',
      access: 'metrics',
      summary: 'Prometheus metrics',
      responses: {
        200: { description: 'text exposition format', contentType: 'text/plain', schema: { type: 'string' } },
      },
      async handler(_request, reply) {
        const { registry } = context.metrics;
        return reply.header('content-type', registry.contentType).send(await registry.metrics());
      },
    },
  ];
}
