/**
 * The SIP ladder: one column per party (the caller's side, the pivot, the callee's side, transfer
 * targets), one row per message in wire order with its time offset; a row is a button that shows the
 * message's full text.
 */
import { useState } from 'preact/hooks';
import { clock } from '../format.ts';
import { html } from '../html.ts';
import type { Call, SipMessage } from '../types.ts';

const endpoint = (m: SipMessage) => `${m.RemoteHost}:${m.RemotePort}`;

/** Who each remote address is, from the call's direction and the order the pivot met them. */
export function partiesOf(
  call: Call,
  messages: SipMessage[],
): { labels: string[]; column: Map<string, number> } {
  const terminating = call.Direction === 'trunking-terminating';
  const caller = messages.find((m) => m.Direction === 'in');
  const callee = messages.find(
    (m) => m.Direction === 'out' && m.Method === 'INVITE' && (!caller || endpoint(m) !== endpoint(caller)),
  );
  const labels = [terminating ? 'PBX' : 'carrier', 'pivot', terminating ? 'carrier' : 'PBX'];
  const column = new Map<string, number>();
  if (caller) column.set(endpoint(caller), 0);
  if (callee) column.set(endpoint(callee), 2);
  for (const m of messages) {
    const ep = endpoint(m);
    if (column.has(ep)) continue;
    const targets = labels.length - 2;
    labels.push(targets === 1 ? 'target' : `target ${targets}`);
    column.set(ep, labels.length - 1);
  }
  if (labels.length === 3 && !callee) labels.pop();
  for (const [ep, index] of column) labels[index] = `${labels[index]}\n${ep}`;
  labels[1] = 'pivot';
  return { labels, column };
}

/** What a row says: the method (and what a NOTIFY reports), or the status and reason. */
export function labelOf(m: SipMessage): string {
  if (m.Status !== null) return m.FirstLine.replace(/^SIP\/2\.0\s+/, '');
  if (m.Method === 'NOTIFY') {
    const frag = /\r?\n\r?\n(SIP\/2\.0 [^\r\n]+)/.exec(m.Text)?.[1];
    return frag ? `NOTIFY (${frag.replace(/^SIP\/2\.0 /, '')})` : 'NOTIFY';
  }
  return m.Method ?? m.FirstLine.split(' ')[0] ?? '?';
}

export function Ladder({ call, messages }: { call: Call; messages: SipMessage[] }) {
  const [selected, setSelected] = useState<number | null>(null);
  if (messages.length === 0) {
    return html`<p class="empty">No SIP messages recorded for this call (the trace is off, or past its retention).</p>`;
  }
  const { labels, column } = partiesOf(call, messages);
  const t0 = Date.parse(messages[0]!.At);
  const columns = `5.5rem repeat(${labels.length * 2}, minmax(2.5rem, 1fr))`;
  const chosen = selected === null ? undefined : messages[selected];
  return html`<div class="ladder" style=${`--cols: ${columns}`}>
      <div class="ladder-head" aria-hidden="true">
        <span></span>
        ${labels.map((label) => {
          const [name, ep] = label.split('\n');
          return html`<span class="party"><strong>${name}</strong>${ep ? html`<small>${ep}</small>` : null}</span>`;
        })}
      </div>
      <ol class="ladder-rows" aria-label="SIP messages in wire order">
        ${messages.map((m, i) => {
          const remote = column.get(endpoint(m)) ?? 2;
          const from = m.Direction === 'in' ? remote : 1;
          const to = m.Direction === 'in' ? 1 : remote;
          const lo = Math.min(from, to);
          const hi = Math.max(from, to);
          const label = labelOf(m);
          const offset = ((Date.parse(m.At) - t0) / 1000).toFixed(3);
          const [fromName] = labels[from]!.split('\n');
          const [toName] = labels[to]!.split('\n');
          return html`<li>
            <button
              type="button"
              class=${`ladder-row${selected === i ? ' selected' : ''}`}
              aria-pressed=${selected === i}
              aria-label=${`${i + 1}: ${fromName} to ${toName}: ${label}, at +${offset} s`}
              data-first-line=${m.FirstLine}
              data-direction=${m.Direction}
              data-from=${fromName}
              data-to=${toName}
              onClick=${() => setSelected(selected === i ? null : i)}
            >
              <span class="offset">+${offset}</span>
              ${labels.map((_, p) => html`<span class="lifeline" style=${`grid-column: ${2 + p * 2}`}></span>`)}
              <span
                class=${`arrow ${from < to ? 'right' : 'left'} ${m.Status !== null ? 'response' : 'request'}`}
                style=${`grid-column: ${3 + lo * 2} / ${3 + hi * 2}`}
                ><span class="arrow-label">${label}</span></span
              >
            </button>
          </li>`;
        })}
      </ol>
    </div>
    ${
      chosen
        ? html`<div class="message-detail" role="region" aria-label="Selected SIP message">
            <p>
              <span
                ><strong>#${(selected ?? 0) + 1}</strong> ${clock(chosen.At)} UTC,${' '}
                ${chosen.Direction === 'in' ? `received from ${endpoint(chosen)}` : `sent to ${endpoint(chosen)}`}${' '}
                over ${chosen.Transport.toUpperCase()}</span
              >
              <button type="button" class="secondary small" onClick=${() => setSelected(null)}>Close</button>
            </p>
            <pre tabindex="0">${chosen.Text.replace(/\r\n/g, '\n')}</pre>
          </div>`
        : null
    }`;
}
