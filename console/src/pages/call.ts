/**
 * One call: header and billing lines, its child calls and transfers, the SIP ladder, the event
 * timeline with its step control, and the statecharts of its call and transfer machines.
 */
import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { duration, money, ms, short, time } from '../format.ts';
import { useResource } from '../hooks.ts';
import { html } from '../html.ts';
import { apiPath, href } from '../router.ts';
import type { Call, Machine, Page, ReplayStep, SipMessage, Transfer } from '../types.ts';
import { ErrorNote, Loading, Section, Status, TableWrap } from '../ui.ts';
import { Ladder } from './ladder.ts';
import { Statechart } from './statechart.ts';
import { pathUpTo, StepControl, Timeline } from './timeline.ts';

const LIVE = new Set(['ringing', 'in-progress']);

export function CallPage({ sid }: { sid: string }) {
  const call = useResource<Call>(`/v1/Calls/${sid}`);
  const live = call.data ? LIVE.has(call.data.Status) : false;
  const poll = live ? 3000 : undefined;
  const replay = useResource<{ Steps: ReplayStep[]; SessionSid: string }>(`/v1/Calls/${sid}/Replay`, poll);
  const messages = useResource<{ Messages: SipMessage[]; Capture: string; Truncated: boolean }>(
    `/v1/Calls/${sid}/Messages`,
    poll,
  );
  const machines = useResource<{ Machines: Machine[] }>('/v1/Machines');
  const transfers = useResource<Page & { Transfers: Transfer[] }>(
    apiPath('v1/Transfers', { CallSid: sid }),
    poll,
  );
  const children = useResource<Page & { Calls: Call[] }>(apiPath('v1/Calls', { ParentCallSid: sid }), poll);
  useEffect(() => {
    if (live) {
      const timer = setInterval(call.reload, 3000);
      return () => clearInterval(timer);
    }
  }, [live]);

  const steps = replay.data?.Steps ?? [];
  const last = steps.at(-1)?.Revision ?? 0;
  const [chosen, setChosen] = useState<number | null>(null);
  const revision = chosen ?? last;

  if (call.error && !call.data) return html`<h1>Call ${short(sid)}</h1><${ErrorNote} error=${call.error} />`;
  if (!call.data) return html`<h1>Call ${short(sid)}</h1><${Loading} when=${true} />`;
  const c = call.data;
  const transferSids = [
    ...new Set(steps.filter((s) => s.Machine?.startsWith('transfer ')).map((s) => s.Machine!)),
  ];
  const chart = (name: string) => machines.data?.Machines.find((m) => m.Name === name);
  const callChart = chart('call');
  const transferChart = chart('transfer');

  return html`<h1>Call <code class="sid">${c.Sid}</code></h1>
    <${ErrorNote} error=${call.error} />
    <dl class="facts">
      <div><dt>Status</dt><dd><${Status} value=${c.Status} />${c.SipResponseCode ? ` (SIP ${c.SipResponseCode})` : ''}</dd></div>
      <div><dt>Direction</dt><dd>${c.Direction}</dd></div>
      <div><dt>Trunk</dt><dd>${c.TrunkSid ? html`<a href=${href(`trunks/${c.TrunkSid}`)}>${c.TrunkName ?? short(c.TrunkSid)}</a>` : '—'}</dd></div>
      <div><dt>From</dt><dd>${c.From}</dd></div>
      <div><dt>To</dt><dd>${c.To}</dd></div>
      <div><dt>Caller ID shown</dt><dd>${c.CallerId ?? '—'}</dd></div>
      <div><dt>Started</dt><dd>${time(c.StartTime)}</dd></div>
      <div><dt>Answered</dt><dd>${time(c.AnswerTime)}</dd></div>
      <div><dt>Ended</dt><dd>${time(c.EndTime)}</dd></div>
      <div><dt>Duration</dt><dd>${duration(c.Duration)}</dd></div>
      <div><dt>Price</dt><dd>${money(c.Price, c.PriceUnit)}</dd></div>
      ${c.ParentCallSid ? html`<div><dt>Transferred from</dt><dd><a href=${href(`calls/${c.ParentCallSid}`)}>${short(c.ParentCallSid)}</a></dd></div>` : null}
      ${c.JoinedCallSid ? html`<div><dt>Joined with</dt><dd><a href=${href(`calls/${c.JoinedCallSid}`)}>${short(c.JoinedCallSid)}</a></dd></div>` : null}
    </dl>

    <${Section} title="Billing lines" id="billing-lines">
      ${
        c.BillingLines.length === 0
          ? html`<p class="empty">Not billed (yet): a call is billed when it ends, per started minute.</p>`
          : html`<${TableWrap} label="Billing lines">
              <table>
                <thead><tr><th scope="col">Line</th><th scope="col">Kind</th><th scope="col">Number</th><th scope="col">What</th><th scope="col" class="num">Rate/min</th><th scope="col" class="num">Minutes</th><th scope="col" class="num">Amount</th></tr></thead>
                <tbody>
                  ${c.BillingLines.map(
                    (l) =>
                      html`<tr><td>${l.Line}</td><td>${l.Kind}</td><td>${l.Number}</td><td>${l.Description}</td><td class="num">${l.RatePerMinute}</td><td class="num">${l.Minutes}</td><td class="num">${money(l.Amount, l.Currency)}</td></tr>`,
                  )}
                </tbody>
              </table>
            <//>`
      }
    <//>

    ${
      (children.data?.Calls.length ?? 0) > 0 || (transfers.data?.Transfers.length ?? 0) > 0
        ? html`<${Section} title="Transfers and child calls" id="transfers">
            <ul class="plain">
              ${(transfers.data?.Transfers ?? []).map(
                (t) => html`<li>
                  Transfer <a href=${href('transfers', { CallSid: c.Sid })} title=${t.Sid}>${short(t.Sid)}</a>${' '}
                  to <code>${t.TargetUri ?? t.ReferTo}</code>: <${Status} value=${t.Outcome} />
                  ${t.TargetStatus ? ` (target ${t.TargetStatus})` : ''}${' '}
                  · REFER→202 ${ms(t.Refer202Ms)} · REFER→answer ${ms(t.ReferAnswerMs)}
                  ${t.RejectionReason || t.FailureReason ? html` · <em>${t.RejectionReason ?? t.FailureReason}</em>` : null}
                  ${t.ChildCallSid ? html` · child call <a href=${href(`calls/${t.ChildCallSid}`)}>${short(t.ChildCallSid)}</a>` : null}
                </li>`,
              )}
            </ul>
          <//>`
        : null
    }

    <${Section} title="SIP ladder" id="ladder">
      <p class="muted small">
        Messages the pivot received and sent for this call's session, in wire order; choose one to read it.
        ${messages.data?.Truncated ? html` <strong>Only the first messages were kept (per-call cap).</strong>` : null}${' '}
        Download: <a href=${`/v1/Calls/${c.Sid}/Messages?format=text`} onClick=${(e: Event) => download(e, c.Sid, 'text')}>text</a>${' '}
        · <a href=${`/v1/Calls/${c.Sid}/Messages?format=pcap`} onClick=${(e: Event) => download(e, c.Sid, 'pcap')}>pcap (Wireshark)</a>
      </p>
      <${ErrorNote} error=${messages.error} />
      ${messages.data ? html`<${Ladder} call=${c} messages=${messages.data.Messages} />` : html`<${Loading} when=${true} />`}
    <//>

    <${Section} title="Event timeline and statecharts" id="timeline">
      <${ErrorNote} error=${replay.error} />
      ${
        steps.length > 0
          ? html`<${StepControl} steps=${steps} revision=${revision} onChange=${setChosen} />
              <div class="charts">
                ${callChart ? html`<${Statechart} name="call" root=${callChart.Root} path=${pathUpTo(steps, `call ${c.Sid}`, revision, callChart.Root)} />` : null}
                ${
                  transferChart
                    ? transferSids.map(
                        (m) =>
                          html`<${Statechart} name=${`transfer ${short(m.slice(9))}`} root=${transferChart.Root} path=${pathUpTo(steps, m, revision, transferChart.Root)} />`,
                      )
                    : null
                }
              </div>
              <${Timeline} steps=${steps} revision=${revision} onChange=${setChosen} callSid=${c.Sid} />`
          : html`<${Loading} when=${replay.loading} />`
      }
    <//>`;
}

/** The trace files need the API key, so they are fetched and saved rather than followed as links. */
async function download(event: Event, sid: string, format: 'text' | 'pcap') {
  event.preventDefault();
  const blob = await request<Blob>(`/v1/Calls/${sid}/Messages?format=${format}`, { blob: true });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = format === 'pcap' ? `${sid}.pcap` : `${sid}-sip.txt`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
