/** /v1/Billing: the per-trunk, per-day summary and the per-call lines it adds up. */
import { type PageQuery, pageOf, pagingOf } from './paging.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import { billingLinePage, billingSummarySchema, callSid, day, paging, query, trunkSid } from './schemas.ts';
import { dayParam, rangeCheck } from './time.ts';
import { type BillingFilters, billingSummary, listBillingLines } from './views.ts';

function daysOf(q: BillingFilters) {
  const start = dayParam('StartDate', q.StartDate);
  const end = dayParam('EndDate', q.EndDate);
  rangeCheck('StartDate', start, 'EndDate', end);
  return { start, end };
}

export function billingRoutes(context: ApiContext): RouteSpec[] {
  const range = {
    TrunkSid: trunkSid,
    StartDate: { ...day, description: "first UTC day (inclusive) of the calls' start" },
    EndDate: { ...day, description: 'last UTC day (inclusive)' },
  };
  return [
    {
      method: 'GET',
      url: '/v1/Billing',
      tag: 'Billing',
      summary: 'Per trunk and per day: calls, billed legs, minutes and amount, with totals',
      querystring: query(range),
      responses: { 200: { description: 'the summary', schema: billingSummarySchema } },
      handler(request) {
        const q = request.query as BillingFilters;
        const { start, end } = daysOf(q);
        const lines = new URLSearchParams(
          Object.entries({ TrunkSid: q.TrunkSid, StartDate: start, EndDate: end }).filter(
            (entry): entry is [string, string] => entry[1] !== undefined,
          ),
        ).toString();
        return {
          TrunkSid: q.TrunkSid ?? null,
          StartDate: start ?? null,
          EndDate: end ?? null,
          ...billingSummary(context.views, { ...q, StartDate: start, EndDate: end }),
          LinesUri: `/v1/Billing/Lines${lines ? `?${lines}` : ''}`,
        };
      },
    },
    {
      method: 'GET',
      url: '/v1/Billing/Lines',
      tag: 'Billing',
      summary: "Billed legs, one line per leg of a call (a transferred call's child may have two)",
      querystring: query({ ...range, CallSid: callSid, ...paging }),
      responses: { 200: { description: 'a page of billing lines', schema: billingLinePage } },
      handler(request) {
        const q = request.query as BillingFilters & PageQuery;
        const { start, end } = daysOf(q);
        const p = pagingOf(q);
        return pageOf(
          request,
          'Lines',
          listBillingLines(context.views, { ...q, StartDate: start, EndDate: end }, p),
          p,
        );
      },
    },
  ];
}
