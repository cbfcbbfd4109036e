/**
 * /v1/Events: the event stream for the systems around the pivot. `GET /v1/Events` pages through `$all`
 * by global position (`After`, then `NextAfter`); `GET /v1/Events/Stream` is the same as server-sent
 * events, catching up and then live, resuming after `Last-Event-ID` (each event's id is its position);
 * `GET /v1/Events/Schema` is the event catalogue (docs/events.md). Events come upcast to today's shape
 * (src/events/catalogue.ts). API key events stay out (src/events/feed.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EVENT_SCHEMA, EVENT_TYPES } from '../events/schema.ts';
import type { RecordedEvent } from '../store/port.ts';
import { badRequest } from './errors.ts';
import { feedEventOf, isFeedable } from './feed.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import { feedEventSchema, query } from './schemas.ts';

/** Events read from the store per page request at most, so a rare type cannot make one request scan all. */
const SCAN_LIMIT = 10_000;
const HEARTBEAT_MS = 15_000;

const position = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'events after this global position',
};
const types = {
  type: 'string',
  pattern: '^[A-Za-z]+(,[A-Za-z]+)*$',
  description: 'comma-separated event types (GET /v1/Events/Schema lists them); all when absent',
};

/** The `Types` filter: undefined for every type; a 400 naming Types for a type that does not exist. */
export function typeFilterOf(value: string | undefined): ReadonlySet<string> | undefined {
  if (value === undefined || value === '') return undefined;
  const wanted = value.split(',');
  for (const type of wanted) {
    if (!EVENT_TYPES.has(type))
      throw badRequest('Types', `Types: no event type ${type} (see /v1/Events/Schema)`);
  }
  return new Set(wanted);
}

export const feedable = (event: RecordedEvent, wanted: ReadonlySet<string> | undefined) =>
  isFeedable(event) && (!wanted || wanted.has(event.type));

/** `Last-Event-ID` (the position of the last event a client saw), else `After`, else 0. */
function resumeFrom(request: FastifyRequest, after: number | undefined): number {
  const header = request.headers['last-event-id'];
  const last = Array.isArray(header) ? header[0] : header;
  if (last !== undefined && last !== '') {
    if (!/^\d{1,15}$/.test(last.trim()))
      throw badRequest('Last-Event-ID', 'Last-Event-ID: expected a position');
    return Number(last.trim());
  }
  return after ?? 0;
}

async function stream(
  context: ApiContext,
  open: Set<() => void>,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const q = request.query as { After?: number; Types?: string };
  const wanted = typeFilterOf(q.Types);
  const after = resumeFrom(request, q.After);
  const subscription = context.store.subscribeToAll({ after });
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // Tells EventSource to reconnect after 1 s; the comment opens the stream for clients that wait.
  out.write(`retry: 1000\n: after ${after}\n\n`);
  const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), HEARTBEAT_MS);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    open.delete(close);
    clearInterval(heartbeat);
    void subscription.close();
  };
  open.add(close);
  request.raw.on('close', close);
  out.on('close', close);
  try {
    for await (const event of subscription) {
      if (closed) break;
      if (!feedable(event, wanted)) continue;
      const fits = out.write(
        `id: ${event.position}\nevent: ${event.type}\ndata: ${JSON.stringify(feedEventOf(event))}\n\n`,
      );
      // A slow reader holds the subscription back instead of the pivot buffering without bound.
      if (!fits && !closed)
        await new Promise<void>((resolve) => out.once('drain', resolve).once('close', resolve));
    }
  } catch (error) {
    request.log.warn({ error }, 'event stream ended');
  } finally {
    close();
    out.end();
  }
}

export interface EventFeeds {
  routes: RouteSpec[];
  /** Ends every open stream (the API is closing: a hijacked response would hold the server open). */
  closeStreams(): void;
}

export function eventFeeds(context: ApiContext): EventFeeds {
  const open = new Set<() => void>();
  const routes: RouteSpec[] = [
    {
      method: 'GET',
      url: '/v1/Events/Schema',
      tag: 'Events',
      summary: 'The event catalogue: every event type, its version and the JSON Schema of its data',
      responses: { 200: { description: 'JSON Schema 2020-12 document', schema: { type: 'object' } } },
      handler: () => EVENT_SCHEMA,
    },
    {
      method: 'GET',
      url: '/v1/Events',
      tag: 'Events',
      summary: 'Stored events in global position order, a page at a time (resume with NextAfter)',
      querystring: query({
        After: position,
        Types: types,
        PageSize: {
          type: 'integer',
          minimum: 1,
          maximum: 1000,
          default: 100,
          description: 'events per page',
        },
      }),
      responses: {
        200: {
          description: 'a page of events',
          schema: {
            type: 'object',
            properties: {
              Events: { type: 'array', items: feedEventSchema },
              After: { type: 'integer' },
              NextAfter: { type: 'integer', description: 'pass as After for the next page' },
              Head: { type: 'integer', description: 'the position of the last stored event' },
              NextPageUri: { type: ['string', 'null'], description: 'null once the page reached the head' },
            },
          },
        },
      },
      async handler(request) {
        const q = request.query as { After?: number; Types?: string; PageSize?: number };
        const wanted = typeFilterOf(q.Types);
        const size = q.PageSize ?? 100;
        const after = q.After ?? 0;
        const events: ReturnType<typeof feedEventOf>[] = [];
        let cursor = after;
        let scanned = 0;
        let exhausted = false;
        while (events.length < size && scanned < SCAN_LIMIT) {
          const batch = await context.store.readAll({
            after: cursor,
            maxCount: Math.min(1000, SCAN_LIMIT - scanned),
          });
          if (batch.length === 0) {
            exhausted = true;
            break;
          }
          for (const event of batch) {
            cursor = event.position;
            scanned++;
            if (!feedable(event, wanted)) continue;
            events.push(feedEventOf(event));
            if (events.length === size) break;
          }
        }
        const head = await context.store.headPosition();
        const more = !exhausted && cursor < head;
        const next = new URL(request.url, 'http://pivot.invalid');
        next.searchParams.set('After', String(cursor));
        return {
          Events: events,
          After: after,
          NextAfter: cursor,
          Head: head,
          NextPageUri: more ? `${next.pathname}${next.search}` : null,
        };
      },
    },
    {
      method: 'GET',
      url: '/v1/Events/Stream',
      tag: 'Events',
      summary:
        'Server-sent events: every event after After (or Last-Event-ID), then live; each id is the position',
      querystring: query({ After: position, Types: types }),
      responses: { 200: { description: 'text/event-stream', contentType: 'text/event-stream' } },
      handler: (request, reply) => stream(context, open, request, reply),
    },
  ];
  return {
    routes,
    closeStreams() {
      for (const close of [...open]) close();
    },
  };
}
