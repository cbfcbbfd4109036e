/** /v1/Audit: every trunk change and transfer decision — what, when, why and who. */
import { type PageQuery, pageOf, pagingOf } from './paging.ts';
import type { ApiContext, RouteSpec } from './routes.ts';
import { auditPage, callSid, instant, paging, query, trunkSid } from './schemas.ts';
import { instantParam, rangeCheck } from './time.ts';
import { type AuditFilters, listAudit } from './views.ts';

export function auditRoutes(context: ApiContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1/Audit',
      tag: 'Audit',
      summary: 'Trunk changes, transfer decisions and API key changes, newest first',
      querystring: query({
        TrunkSid: trunkSid,
        CallSid: callSid,
        Kind: { type: 'string', enum: ['trunk', 'transfer', 'key'] },
        After: { ...instant, description: 'entries at or after this time' },
        Before: { ...instant, description: 'entries before this time' },
        ...paging,
      }),
      responses: { 200: { description: 'a page of audit entries', schema: auditPage } },
      handler(request) {
        const q = request.query as AuditFilters & PageQuery;
        const after = instantParam('After', q.After);
        const before = instantParam('Before', q.Before);
        rangeCheck('After', after, 'Before', before);
        const p = pagingOf(q);
        return pageOf(
          request,
          'Entries',
          listAudit(context.views, { ...q, After: after, Before: before }, p),
          p,
        );
      },
    },
  ];
}
