/** /v1/StatusCallbacks/Deliveries: the status callback delivery log (projections/webhooks/dispatcher.ts). */
import { type PageQuery, pageOf, pagingOf } from './paging.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import { callSid, DELIVERY_STATES, deliverySchema, paging, query, trunkSid } from './schemas.ts';

interface Row {
  sid: number;
  position: number;
  event: string;
  trunk_sid: string;
  call_sid: string;
  body: string;
  event_at: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  queued_at: string;
  next_attempt_at: number | null;
  delivered_at: string | null;
}

export function statusCallbackRoutes(context: ApiContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1/StatusCallbacks/Deliveries',
      tag: 'StatusCallbacks',
      summary: 'Status callback deliveries, newest first: what was sent where, attempts, last status',
      querystring: query({
        TrunkSid: trunkSid,
        CallSid: callSid,
        State: { type: 'string', enum: [...DELIVERY_STATES] },
        ...paging,
      }),
      responses: {
        200: {
          description: 'a page of deliveries',
          schema: { type: 'object', properties: { Deliveries: { type: 'array', items: deliverySchema } } },
        },
      },
      handler(request) {
        const q = request.query as { TrunkSid?: string; CallSid?: string; State?: string } & PageQuery;
        const p = pagingOf(q);
        const exists = context.views
          .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'webhook_deliveries'")
          .get();
        const conditions: string[] = [];
        const params: unknown[] = [];
        for (const [sql, value] of [
          ['trunk_sid = ?', q.TrunkSid],
          ['call_sid = ?', q.CallSid],
          ['state = ?', q.State],
        ] as const) {
          if (value === undefined) continue;
          conditions.push(sql);
          params.push(value);
        }
        const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
        const rows = exists
          ? (context.views
              .prepare(`SELECT * FROM webhook_deliveries ${where} ORDER BY sid DESC LIMIT ? OFFSET ?`)
              .all(...params, p.limit, p.offset) as Row[])
          : [];
        return pageOf(
          request,
          'Deliveries',
          rows.map((row) => ({
            Sid: row.sid,
            Position: row.position,
            Event: row.event,
            TrunkSid: row.trunk_sid,
            CallSid: row.call_sid,
            State: row.state,
            Attempts: row.attempts,
            LastStatus: row.last_status,
            LastError: row.last_error,
            EventAt: row.event_at,
            QueuedAt: row.queued_at,
            NextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at).toISOString(),
            DeliveredAt: row.delivered_at,
            Body: JSON.parse(row.body),
          })),
          p,
        );
      },
    },
  ];
}
