/** The call log: newest first, filtered like the API, a transferred call's child calls nested under it. */
import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { callField, choiceField, Filters, trunkField } from '../filters.ts';
import { duration, money, short, time } from '../format.ts';
import { useResource, useTrunks } from '../hooks.ts';
import { html } from '../html.ts';
import { apiPath, href, type Route } from '../router.ts';
import type { Call, Page } from '../types.ts';
import { ListState, Pager, pick, Status, TableWrap } from '../ui.ts';

const STATUSES = ['ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'];
const FILTERS = ['TrunkSid', 'Status', 'Direction', 'StartTimeAfter', 'StartTimeBefore', 'ParentCallSid'];
const POLL_MS = 3000;

export function CallsPage({ route }: { route: Route }) {
  const filters = pick(route.query, FILTERS);
  const page = route.query.get('Page') ?? undefined;
  const [live, setLive] = useState(true);
  const list = useResource<Page & { Calls: Call[] }>(
    apiPath('v1/Calls', { ...filters, Page: page, PageSize: 25 }),
    live ? POLL_MS : undefined,
  );
  const trunks = useTrunks();
  const children = useChildren(list.data?.Calls);
  const calls = list.data?.Calls ?? [];
  const onPage = new Set(calls.map((c) => c.Sid));
  // A child call whose parent is on this page is shown under it, not on its own.
  const roots = calls.filter((c) => !(c.ParentCallSid && onPage.has(c.ParentCallSid)));

  return html`<h1>Calls</h1>
    <${Filters}
      path="calls"
      values=${filters}
      fields=${[
        trunkField(trunks),
        choiceField('Status', 'Status', STATUSES),
        {
          name: 'Direction',
          label: 'Direction',
          kind: 'select',
          options: [
            { value: 'trunking-terminating', label: 'terminating (PBX → carrier)' },
            { value: 'trunking-originating', label: 'originating (carrier → PBX)' },
          ],
        },
        { name: 'StartTimeAfter', label: 'Started after (UTC)', kind: 'datetime' },
        { name: 'StartTimeBefore', label: 'Started before (UTC)', kind: 'datetime' },
        callField('ParentCallSid', 'Parent call'),
      ]}
    />
    <p class="toolbar">
      <label class="inline"
        ><input type="checkbox" checked=${live} onChange=${(e: Event) => setLive((e.target as HTMLInputElement).checked)} />
        Live (refresh every ${POLL_MS / 1000} s)</label
      >
    </p>
    <${ListState} list=${list} rows=${calls.length} what="calls" filters=${filters} />
    ${
      calls.length > 0
        ? html`<${TableWrap} label="Call log">
            <table class="calls">
              <caption class="sr-only">Calls, newest first; child calls are listed under the call they were transferred from</caption>
              <thead>
                <tr>
                  <th scope="col">Started (UTC)</th>
                  <th scope="col">Call</th>
                  <th scope="col">Direction</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Duration</th>
                  <th scope="col" class="num">Price</th>
                </tr>
              </thead>
              <tbody>
                ${roots.map(
                  (call) => html`<${CallRow} call=${call} child=${false} />
                    ${(children.get(call.Sid) ?? []).map((c) => html`<${CallRow} call=${c} child=${true} />`)}`,
                )}
              </tbody>
            </table>
          <//>`
        : null
    }
    <${Pager} page=${list.data} path="calls" query=${filters} />`;
}

function CallRow({ call, child }: { call: Call; child: boolean }) {
  return html`<tr class=${child ? 'child' : call.ParentCallSid ? 'orphan-child' : ''} data-sid=${call.Sid}>
    <td>${time(call.StartTime)}</td>
    <th scope="row">
      ${child ? html`<span class="nest" aria-hidden="true">↳ </span><span class="sr-only">child call </span>` : null}
      <a href=${href(`calls/${call.Sid}`)} title=${call.Sid}>${short(call.Sid)}</a>
      ${call.TransfersAccepted > 0 ? html` <span class="tag">transferred</span>` : null}
      ${!child && call.ParentCallSid ? html` <span class="tag">child of <a href=${href(`calls/${call.ParentCallSid}`)}>${short(call.ParentCallSid)}</a></span>` : null}
    </th>
    <td>${call.Direction === 'trunking-terminating' ? 'terminating' : 'originating'}</td>
    <td>${call.From}</td>
    <td>${call.To}</td>
    <td><${Status} value=${call.Status} /></td>
    <td class="num">${duration(call.Duration)}</td>
    <td class="num">${money(call.Price, call.PriceUnit)}</td>
  </tr>`;
}

/** The child calls of every call on the page that was transferred, refreshed with the page. */
function useChildren(calls: Call[] | undefined): Map<string, Call[]> {
  const [children, setChildren] = useState(new Map<string, Call[]>());
  const parents = (calls ?? []).filter((c) => c.TransfersAccepted > 0).map((c) => c.Sid);
  const key = calls ? JSON.stringify(calls.map((c) => [c.Sid, c.Status, c.TransfersAccepted])) : '';
  useEffect(() => {
    let live = true;
    Promise.all(
      parents.map((sid) =>
        request<{ Calls: Call[] }>(apiPath('v1/Calls', { ParentCallSid: sid, PageSize: 50 })).then(
          (r) => [sid, [...r.Calls].reverse()] as const,
        ),
      ),
    ).then(
      (pairs) => live && setChildren(new Map(pairs)),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [key]);
  return children;
}
