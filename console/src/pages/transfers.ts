/** Transfers: outcome, target, timings and why one failed or was refused, with a link to the call. */
import { callField, choiceField, Filters, trunkField } from '../filters.ts';
import { ms, short, time } from '../format.ts';
import { useResource, useTrunks } from '../hooks.ts';
import { html } from '../html.ts';
import { apiPath, href, type Route } from '../router.ts';
import type { Page, Transfer } from '../types.ts';
import { ListState, Pager, pick, Status, TableWrap } from '../ui.ts';

const FILTERS = ['TrunkSid', 'Outcome', 'CallSid'];

export function TransfersPage({ route }: { route: Route }) {
  const filters = pick(route.query, FILTERS);
  const list = useResource<Page & { Transfers: Transfer[] }>(
    apiPath('v1/Transfers', { ...filters, Page: route.query.get('Page'), PageSize: 25 }),
    5000,
  );
  const trunks = useTrunks();
  const rows = list.data?.Transfers ?? [];
  return html`<h1>Transfers</h1>
    <${Filters}
      path="transfers"
      values=${filters}
      fields=${[
        trunkField(trunks),
        choiceField('Outcome', 'Outcome', ['pending', 'completed', 'failed', 'rejected']),
        callField(),
      ]}
    />
    <${ListState} list=${list} rows=${rows.length} what="transfers" filters=${filters} />
    ${
      rows.length > 0
        ? html`<${TableWrap} label="Transfers">
            <table>
              <thead>
                <tr>
                  <th scope="col">REFER (UTC)</th>
                  <th scope="col">Transfer</th>
                  <th scope="col">Call</th>
                  <th scope="col">Target</th>
                  <th scope="col">Outcome</th>
                  <th scope="col" class="num">REFER→202</th>
                  <th scope="col" class="num">REFER→answer</th>
                  <th scope="col">Why it failed</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map(
                  (t) => html`<tr>
                    <td>${time(t.ReferTime)}</td>
                    <th scope="row"><span title=${t.Sid}>${short(t.Sid)}</span></th>
                    <td>
                      <a href=${href(`calls/${t.CallSid}`)} title=${t.CallSid}>${short(t.CallSid)}</a>
                      ${t.ChildCallSid ? html` → <a href=${href(`calls/${t.ChildCallSid}`)} title=${t.ChildCallSid}>${short(t.ChildCallSid)}</a>` : null}
                    </td>
                    <td><code>${t.TargetUri ?? t.ReferTo}</code>${t.TargetKind ? html` <span class="tag">${t.TargetKind}</span>` : null}</td>
                    <td><${Status} value=${t.Outcome} />${t.ReferStatus && t.ReferStatus !== 202 ? ` ${t.ReferStatus}` : ''}${t.TargetStatus && t.TargetStatus >= 300 ? ` (target ${t.TargetStatus})` : ''}</td>
                    <td class="num">${ms(t.Refer202Ms)}</td>
                    <td class="num">${ms(t.ReferAnswerMs)}</td>
                    <td>${t.RejectionReason ?? t.FailureReason ?? ''}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          <//>`
        : null
    }
    <${Pager} page=${list.data} path="transfers" query=${filters} />`;
}
