/** /v1/Calls: the call log (parent and child calls), each call's raw events and its replay. */
import { CALL_STATUSES } from '../../machines/events.ts';
import { replayEvents } from '../engine/replay.ts';
import { streamOf } from '../shared/sids.ts';
import { notFound } from './errors.ts';
import { type PageQuery, pageOf, pagingOf } from './paging.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import {
  callPage,
  callSchema,
  callSid,
  eventSchema,
  instant,
  paging,
  query,
  replayStepSchema,
  sidParams,
  trunkSid,
} from './schemas.ts';
import { instantParam, rangeCheck } from './time.ts';
import { type CallFilters, getCall, listCalls } from './views.ts';

/** The session stream a call's events are in: the call log knows; a root call is its own session. */
export async function sessionOf(context: ApiContext, sid: string): Promise<string> {
  const known = getCall(context.views, sid)?.sessionSid;
  if (known) return known;
  const own = await context.store.readStream(streamOf(sid), { maxCount: 1 });
  if (own.length > 0) return sid;
  throw notFound('call', sid);
}

export function callRoutes(context: ApiContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1/Calls',
      tag: 'Calls',
      summary: "List calls, newest first; a transferred call's child calls have ParentCallSid set",
      querystring: query({
        ParentCallSid: callSid,
        TrunkSid: trunkSid,
        Status: { type: 'string', enum: [...CALL_STATUSES] },
        Direction: { type: 'string', enum: ['trunking-terminating', 'trunking-originating'] },
        From: { type: 'string' },
        To: { type: 'string' },
        StartTimeAfter: { ...instant, description: 'calls that started at or after this time' },
        StartTimeBefore: { ...instant, description: 'calls that started before this time' },
        ...paging,
      }),
      responses: { 200: { description: 'a page of calls', schema: callPage } },
      handler(request) {
        const q = request.query as CallFilters & PageQuery;
        const after = instantParam('StartTimeAfter', q.StartTimeAfter);
        const before = instantParam('StartTimeBefore', q.StartTimeBefore);
        rangeCheck('StartTimeAfter', after, 'StartTimeBefore', before);
        const p = pagingOf(q);
        const rows = listCalls(context.views, { ...q, StartTimeAfter: after, StartTimeBefore: before }, p);
        return pageOf(request, 'Calls', rows, p);
      },
    },
    {
      method: 'GET',
      url: '/v1/Calls/:Sid',
      tag: 'Calls',
      summary: 'One call, with its price and billing lines',
      params: sidParams(callSid),
      responses: { 200: { description: 'the call', schema: callSchema } },
      handler(request) {
        const { Sid } = request.params as { Sid: string };
        const call = getCall(context.views, Sid);
        if (!call) throw notFound('call', Sid);
        return call.resource;
      },
    },
    {
      method: 'GET',
      url: '/v1/Calls/:Sid/Events',
      tag: 'Calls',
      summary: "The call's stored events, as recorded (data, metadata, positions)",
      params: sidParams(callSid),
      responses: {
        200: {
          description: 'the events',
          schema: {
            type: 'object',
            properties: {
              CallSid: { type: 'string' },
              SessionSid: { type: 'string' },
              Events: { type: 'array', items: eventSchema },
            },
          },
        },
      },
      async handler(request) {
        const { Sid } = request.params as { Sid: string };
        const session = await sessionOf(context, Sid);
        const events = (await context.store.readStream(streamOf(session))).filter(
          (e) => (e.data as { callSid?: string }).callSid === Sid,
        );
        return {
          CallSid: Sid,
          SessionSid: session,
          Events: events.map((e) => ({
            Position: e.position,
            Revision: e.revision,
            Id: e.id,
            Type: e.type,
            At: (e.data as { at?: string }).at ?? null,
            RecordedAt: e.recordedAt,
            Data: e.data,
            Metadata: e.metadata,
          })),
        };
      },
    },
    {
      method: 'GET',
      url: '/v1/Calls/:Sid/Replay',
      tag: 'Calls',
      summary: "Replays the call's session through today's machines, step by step",
      params: sidParams(callSid),
      responses: {
        200: {
          description: 'the replay steps of the whole session (the root call, its transfers and child calls)',
          schema: {
            type: 'object',
            properties: {
              CallSid: { type: 'string' },
              SessionSid: { type: 'string' },
              Steps: { type: 'array', items: replayStepSchema },
            },
          },
        },
      },
      async handler(request) {
        const { Sid } = request.params as { Sid: string };
        const session = await sessionOf(context, Sid);
        const steps = replayEvents(session, await context.store.readStream(streamOf(session)));
        return {
          CallSid: Sid,
          SessionSid: session,
          Steps: steps.map((s) => ({
            Revision: s.revision,
            Position: s.position,
            At: s.at,
            Type: s.type,
            Machine: s.machine ?? null,
            Before: s.before ?? null,
            After: s.after ?? null,
            Recorded: s.recorded ?? null,
            Actions: s.actions,
          })),
        };
      },
    },
  ];
}
