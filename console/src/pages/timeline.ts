/**
 * The event timeline of a call's session (the same steps as `pivot replay` and /Replay) with a step
 * control: choosing a revision shows the machines as they were right after it.
 */
import { clock } from '../format.ts';
import { html } from '../html.ts';
import type { ChartState, ReplayStep } from '../types.ts';
import type { Path } from './statechart.ts';

/** `{ a: 'b' }` -> `a.b`; a flat machine's value is its state's key. */
export function leafOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, inner] = Object.entries(value)[0] ?? [];
    if (key === undefined) return null;
    const rest = leafOf(inner);
    return rest ? `${key}.${rest}` : key;
  }
  return null;
}

export function pathUpTo(steps: ReplayStep[], machine: string, revision: number, root: ChartState): Path {
  const visited: string[] = [];
  const taken = new Set<string>();
  let current: string | null = null;
  for (const step of steps) {
    if (step.Revision > revision) break;
    if (step.Machine !== machine) continue;
    const before = step.Before === 'new' ? root.Initial : leafOf(step.Before);
    const after = leafOf(step.After);
    if (visited.length === 0 && before) visited.push(before);
    if (!after) continue;
    if (before && before !== after) taken.add(`${before}>${after}`);
    if (visited.at(-1) !== after) visited.push(after);
    current = after;
  }
  return { visited, current, taken };
}

const show = (value: unknown) =>
  leafOf(value) ?? (value === null || value === undefined ? '—' : JSON.stringify(value));

export function StepControl({
  steps,
  revision,
  onChange,
}: {
  steps: ReplayStep[];
  revision: number;
  onChange: (revision: number) => void;
}) {
  const first = steps[0]?.Revision ?? 0;
  const last = steps.at(-1)?.Revision ?? 0;
  const step = steps.find((s) => s.Revision === revision);
  const go = (r: number) => onChange(Math.max(first, Math.min(last, r)));
  return html`<div class="step-control" role="group" aria-label="Replay to a revision">
    <button type="button" onClick=${() => go(first)} disabled=${revision <= first} aria-label="First revision">« First</button>
    <button type="button" onClick=${() => go(revision - 1)} disabled=${revision <= first} aria-label="Previous revision">‹ Previous</button>
    <label class="sr-only" for="revision">Revision</label>
    <input
      id="revision"
      type="range"
      min=${first}
      max=${last}
      value=${revision}
      onInput=${(e: Event) => go(Number((e.target as HTMLInputElement).value))}
    />
    <button type="button" onClick=${() => go(revision + 1)} disabled=${revision >= last} aria-label="Next revision">Next ›</button>
    <button type="button" onClick=${() => go(last)} disabled=${revision >= last} aria-label="Last revision">Last »</button>
    <output for="revision" aria-live="polite" class="step-output">
      revision <strong data-revision=${revision}>${revision}</strong> of ${last}${step ? html`: <code>${step.Type}</code>` : null}
    </output>
  </div>`;
}

/** `call` for the call on screen; another call or a transfer by its short sid. */
function machineName(machine: string, callSid: string): string {
  const [kind = '', sid = ''] = machine.split(' ');
  return sid === callSid ? kind : `${kind} …${sid.slice(-8)}`;
}

export function Timeline({
  steps,
  revision,
  onChange,
  callSid,
}: {
  steps: ReplayStep[];
  revision: number;
  onChange: (revision: number) => void;
  callSid: string;
}) {
  const t0 = steps[0] ? Date.parse(steps[0].At) : 0;
  return html`<div class="table-wrap" role="region" aria-label="Event timeline" tabindex="0">
    <table class="timeline">
      <thead>
        <tr>
          <th scope="col">Rev</th>
          <th scope="col">Time (UTC)</th>
          <th scope="col">Event</th>
          <th scope="col">Machine</th>
          <th scope="col">State before → after</th>
          <th scope="col">Decisions</th>
        </tr>
      </thead>
      <tbody>
        ${steps.map(
          (s) => html`<tr
            class=${s.Revision === revision ? 'current' : s.Revision > revision ? 'future' : ''}
            aria-current=${s.Revision === revision ? 'step' : undefined}
          >
            <td>
              <button type="button" class="link" onClick=${() => onChange(s.Revision)} aria-label=${`Replay to revision ${s.Revision}`}>
                ${s.Revision}
              </button>
            </td>
            <td><span title=${s.At}>${clock(s.At)}</span> <small class="muted">+${((Date.parse(s.At) - t0) / 1000).toFixed(3)} s</small></td>
            <td><code>${s.Type}</code></td>
            <td>${s.Machine ? machineName(s.Machine, callSid) : html`<span class="muted">—</span>`}</td>
            <td>${s.Machine ? html`${show(s.Before)} → <strong>${show(s.After)}</strong>` : null}</td>
            <td>
              ${s.Actions.length ? html`<ul class="actions">${s.Actions.map((a) => html`<li>${a}</li>`)}</ul>` : null}
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
