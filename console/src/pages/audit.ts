/** The audit: every trunk change and transfer decision, newest first, filterable. */
import { callField, Filters, trunkField } from '../filters.ts';
import { short, time } from '../format.ts';
import { useResource, useTrunks } from '../hooks.ts';
import { html } from '../html.ts';
import { apiPath, href, type Route } from '../router.ts';
import type { AuditEntry, Page } from '../types.ts';
import { ListState, Pager, pick, TableWrap } from '../ui.ts';

const FILTERS = ['Kind', 'TrunkSid', 'CallSid', 'After', 'Before'];

export function AuditPage({ route }: { route: Route }) {
  const filters = pick(route.query, FILTERS);
  const list = useResource<Page & { Entries: AuditEntry[] }>(
    apiPath('v1/Audit', { ...filters, Page: route.query.get('Page'), PageSize: 50 }),
    5000,
  );
  const trunks = useTrunks();
  const rows = list.data?.Entries ?? [];
  return html`<h1>Audit</h1>
    <${Filters}
      path="audit"
      values=${filters}
      fields=${[
        {
          name: 'Kind',
          label: 'Kind',
          kind: 'select',
          options: [
            { value: 'trunk', label: 'trunk changes' },
            { value: 'transfer', label: 'transfer decisions' },
            { value: 'key', label: 'API key changes' },
          ],
        },
        trunkField(trunks),
        callField(),
        { name: 'After', label: 'After (UTC)', kind: 'datetime' },
        { name: 'Before', label: 'Before (UTC)', kind: 'datetime' },
      ]}
    />
    <${ListState} list=${list} rows=${rows.length} what="audit entries" filters=${filters} />
    ${
      rows.length > 0
        ? html`<${TableWrap} label="Audit entries">
            <table class="audit">
              <thead><tr><th scope="col">At (UTC)</th><th scope="col">Kind</th><th scope="col">What</th><th scope="col">Why</th><th scope="col">By</th><th scope="col">Call</th></tr></thead>
              <tbody>
                ${rows.map(
                  (e) => html`<tr data-action=${e.Action}>
                    <td>${time(e.At)}</td>
                    <td>${e.Kind}</td>
                    <th scope="row" class="what">${e.What}</th>
                    <td>${e.Why}</td>
                    <td>${e.By ? html`<code title=${e.By}>${short(e.By)}</code>` : html`<span class="muted">—</span>`}</td>
                    <td>${e.CallSid ? html`<a href=${href(`calls/${e.CallSid}`)} title=${e.CallSid}>${short(e.CallSid)}</a>` : ''}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          <//>`
        : null
    }
    <${Pager} page=${list.data} path="audit" query=${filters} />`;
}
