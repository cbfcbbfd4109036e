/** /v1/Transfers: every REFER the pivot decided on. */
import { notFound } from './errors.ts';
import { type PageQuery, pageOf, pagingOf } from './paging.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import {
  callSid,
  paging,
  query,
  sidParams,
  TRANSFER_OUTCOMES,
  transferPage,
  transferSchema,
  transferSid,
  trunkSid,
} from './schemas.ts';
import { getTransfer, listTransfers } from './views.ts';

export function transferRoutes(context: ApiContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1/Transfers',
      tag: 'Transfers',
      summary: 'List transfers, newest first',
      querystring: query({
        CallSid: callSid,
        TrunkSid: trunkSid,
        Outcome: { type: 'string', enum: TRANSFER_OUTCOMES },
        ...paging,
      }),
      responses: { 200: { description: 'a page of transfers', schema: transferPage } },
      handler(request) {
        const q = request.query as { CallSid?: string; TrunkSid?: string; Outcome?: string } & PageQuery;
        const p = pagingOf(q);
        return pageOf(request, 'Transfers', listTransfers(context.views, q, p), p);
      },
    },
    {
      method: 'GET',
      url: '/v1/Transfers/:Sid',
      tag: 'Transfers',
      summary: 'One transfer: who referred whom to what, the outcome and its timings',
      params: sidParams(transferSid),
      responses: { 200: { description: 'the transfer', schema: transferSchema } },
      handler(request) {
        const { Sid } = request.params as { Sid: string };
        const transfer = getTransfer(context.views, Sid);
        if (!transfer) throw notFound('transfer', Sid);
        return transfer;
      },
    },
  ];
}
