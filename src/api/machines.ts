/**
 * /v1/Machines: the call and transfer machines' states and transitions, read from the machines' own
 * definitions (src/engine/statechart.ts), for drawing a call's path through them next to its replay.
 */
import { statecharts } from '../engine/statechart.ts';
import type { RouteSpec } from './routes.ts';

const transition = {
  type: 'object',
  properties: {
    Event: { type: 'string' },
    Targets: { type: 'array', items: { type: 'string' } },
    Guarded: { type: 'boolean' },
  },
};

const state = {
  type: 'object',
  properties: {
    Path: { type: 'string', description: "dotted from the root ('' for the root)" },
    Key: { type: 'string' },
    Type: { type: 'string', enum: ['atomic', 'compound', 'parallel', 'final', 'history'] },
    Initial: { type: ['string', 'null'] },
    States: { type: 'array', items: { type: 'object', description: 'child states, same shape' } },
    Transitions: { type: 'array', items: transition },
  },
};

type Chart = ReturnType<typeof statecharts>[number];

function stateResource(s: Chart['root']): Record<string, unknown> {
  return {
    Path: s.path,
    Key: s.key,
    Type: s.type,
    Initial: s.initial,
    States: s.states.map(stateResource),
    Transitions: s.transitions.map((t) => ({ Event: t.event, Targets: t.targets, Guarded: t.guarded })),
  };
}

export function machineRoutes(): RouteSpec[] {
  const charts = statecharts().map((c) => ({ Name: c.name, Id: c.id, Root: stateResource(c.root) }));
  return [
    {
      method: 'GET',
      url: '/v1/Machines',
      tag: 'Calls',
      summary: 'The call and transfer machines: states and transitions, from their definitions',
      responses: {
        200: {
          description: 'one statechart per machine',
          schema: {
            type: 'object',
            properties: {
              Machines: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { Name: { type: 'string' }, Id: { type: 'string' }, Root: state },
                },
              },
            },
          },
        },
      },
      handler: () => ({ Machines: charts }),
    },
  ];
}
