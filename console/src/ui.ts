/** Small pieces every page uses: errors, loading, paging, status badges. */
import type { ComponentChildren } from 'preact';
import type { ApiError } from './api.ts';
import type { Resource } from './hooks.ts';
import { html } from './html.ts';
import { href } from './router.ts';
import type { Page } from './types.ts';

export function ErrorNote({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  const what = error.status === 0 ? 'The API is unreachable' : `The API answered ${error.status}`;
  return html`<p class="note error" role="alert">
    ${what}: ${error.message}${error.field ? html` (field <code>${error.field}</code>)` : null}
  </p>`;
}

export function Loading({ when }: { when: boolean }) {
  return when ? html`<p class="muted" aria-live="polite">Loading…</p>` : null;
}

export function Pager({
  page,
  path,
  query,
}: {
  page: Page | undefined;
  path: string;
  query: Record<string, string | undefined>;
}) {
  if (!page) return null;
  const at = (n: number) => href(path, { ...query, Page: n === 0 ? undefined : n });
  return html`<nav class="pager" aria-label="Pages">
    ${page.PreviousPageUri ? html`<a href=${at(page.Page - 1)} rel="prev">← Newer</a>` : html`<span class="muted">← Newer</span>`}
    <span>Page ${page.Page + 1}</span>
    ${page.NextPageUri ? html`<a href=${at(page.Page + 1)} rel="next">Older →</a>` : html`<span class="muted">Older →</span>`}
  </nav>`;
}

export function Status({ value }: { value: string | null | undefined }) {
  if (!value) return html`<span class="muted">—</span>`;
  return html`<span class=${`badge badge-${value}`}>${value}</span>`;
}

export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return html`<div class="table-wrap" role="region" aria-label=${label} tabindex="0">${children}</div>`;
}

export function Section({ title, id, children }: { title: string; id: string; children: ComponentChildren }) {
  return html`<section aria-labelledby=${id}><h2 id=${id}>${title}</h2>${children}</section>`;
}

/** Query values from the route, dropping empty ones. */
export function pick(query: URLSearchParams, names: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of names) {
    const value = query.get(name);
    if (value) out[name] = value;
  }
  return out;
}

/**
 * What a list page shows above its table: the error, the first load, or that a loaded page has no
 * rows (none at all, or none matching its filters).
 */
export function ListState({
  list,
  rows,
  what,
  filters,
}: {
  list: Resource<unknown>;
  rows: number;
  what: string;
  filters: Record<string, string | undefined>;
}) {
  return html`<${ErrorNote} error=${list.error} />
    <${Loading} when=${list.loading && !list.data} />
    ${list.data && rows === 0 ? html`<p class="empty">No ${what}${Object.keys(filters).length > 0 ? ' match these filters' : ' yet'}.</p>` : null}`;
}
