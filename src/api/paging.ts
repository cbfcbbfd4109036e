/** Page-number paging with provider-style envelopes: `Page`, `PageSize`, `NextPageUri`, ... */
import type { FastifyRequest } from 'fastify';

export interface PageQuery {
  PageSize?: number;
  Page?: number;
}

export interface Paging {
  size: number;
  page: number;
  /** Rows to ask for: one more than a page, to know whether there is a next one. */
  limit: number;
  offset: number;
}

export function pagingOf(query: PageQuery): Paging {
  const size = query.PageSize ?? 50;
  const page = query.Page ?? 0;
  return { size, page, limit: size + 1, offset: page * size };
}

function uriWithPage(request: FastifyRequest, page: number, size: number): string {
  const url = new URL(request.url, 'http://pivot.invalid');
  url.searchParams.set('PageSize', String(size));
  url.searchParams.set('Page', String(page));
  return `${url.pathname}${url.search}`;
}

/** The envelope for a page of `rows` (fetched with `limit`, so one row too many means a next page). */
export function pageOf<T>(request: FastifyRequest, key: string, rows: T[], paging: Paging) {
  const { size, page } = paging;
  return {
    [key]: rows.slice(0, size),
    Page: page,
    PageSize: size,
    Uri: uriWithPage(request, page, size),
    FirstPageUri: uriWithPage(request, 0, size),
    NextPageUri: rows.length > size ? uriWithPage(request, page + 1, size) : null,
    PreviousPageUri: page > 0 ? uriWithPage(request, page - 1, size) : null,
  };
}
