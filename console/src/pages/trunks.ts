/** Trunks: the list, one trunk's settings, and the form that changes its transfer policy. */
import { useState } from 'preact/hooks';
import { type ApiError, request } from '../api.ts';
import { time } from '../format.ts';
import { useResource } from '../hooks.ts';
import { html } from '../html.ts';
import { apiPath, href } from '../router.ts';
import type { AuditEntry, Page, Trunk } from '../types.ts';
import { ErrorNote, Loading, Section, TableWrap } from '../ui.ts';

const MODES = ['enable-all', 'sip-only', 'disable-all'];
const CALLER_IDS = ['from-transferee', 'from-transferor'];

export function TrunksPage() {
  const list = useResource<{ Trunks: Trunk[] }>('/v1/Trunks');
  return html`<h1>Trunks</h1>
    <${ErrorNote} error=${list.error} />
    <${Loading} when=${list.loading && !list.data} />
    ${
      list.data
        ? html`<${TableWrap} label="Trunks">
            <table>
              <thead><tr><th scope="col">Name</th><th scope="col">Domain</th><th scope="col">Transfer mode</th><th scope="col">Caller ID on transfer</th><th scope="col" class="num">Max transfers</th><th scope="col">Numbers</th><th scope="col">Updated (UTC)</th></tr></thead>
              <tbody>
                ${list.data.Trunks.map(
                  (t) => html`<tr>
                    <th scope="row"><a href=${href(`trunks/${t.Sid}`)}>${t.Name}</a></th>
                    <td>${t.Domain}</td>
                    <td>${t.TransferMode}</td>
                    <td>${t.TransferCallerId}</td>
                    <td class="num">${t.MaxTransfersPerCall}</td>
                    <td>${t.Numbers.join(', ')}</td>
                    <td>${time(t.DateUpdated)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          <//>`
        : null
    }`;
}

export function TrunkPage({ sid }: { sid: string }) {
  const trunk = useResource<Trunk>(`/v1/Trunks/${sid}`);
  const audit = useResource<Page & { Entries: AuditEntry[] }>(
    apiPath('v1/Audit', { TrunkSid: sid, Kind: 'trunk', PageSize: 10 }),
  );
  if (!trunk.data) {
    return html`<h1>Trunk</h1><${ErrorNote} error=${trunk.error} /><${Loading} when=${trunk.loading} />`;
  }
  const t = trunk.data;
  const saved = () => {
    trunk.reload();
    audit.reload();
  };
  return html`<h1>Trunk ${t.Name}</h1>
    <dl class="facts">
      <div><dt>Sid</dt><dd><code>${t.Sid}</code></dd></div>
      <div><dt>Domain</dt><dd>${t.Domain}</dd></div>
      <div><dt>ACL</dt><dd>${t.Acl.join(', ')}</dd></div>
      <div><dt>Origination URI</dt><dd><code>${t.OriginationUri}</code></dd></div>
      <div><dt>Numbers</dt><dd>${t.Numbers.join(', ') || '—'}</dd></div>
      <div><dt>Rates (${t.Rates.Currency}/min)</dt><dd>termination ${deck(t.Rates.Termination)}; origination ${deck(t.Rates.Origination)}</dd></div>
      <div><dt>Source</dt><dd>${t.Source}, revision ${t.Revision}</dd></div>
      <div><dt>Updated</dt><dd>${time(t.DateUpdated)}</dd></div>
    </dl>
    <${Section} title="Transfer policy" id="policy">
      <${PolicyForm} trunk=${t} onSaved=${saved} />
    <//>
    <${Section} title="Recent changes" id="changes">
      <${ErrorNote} error=${audit.error} />
      <ul class="plain">
        ${(audit.data?.Entries ?? []).map(
          (e) =>
            html`<li>${time(e.At)} — ${e.What} <span class="muted">(${e.Why}${e.By ? `, by ${e.By}` : ''})</span></li>`,
        )}
      </ul>
      <p><a href=${href('audit', { TrunkSid: t.Sid })}>All audit entries of this trunk</a></p>
    <//>`;
}

const deck = (rates: Record<string, number>) =>
  Object.entries(rates)
    .map(([prefix, rate]) => `${prefix || 'default'} ${rate}`)
    .join(', ');

/** The same rules as the API: the lists of modes, a whole number of transfers >= 1. */
function validate(form: FormData): { field: string; message: string } | undefined {
  const max = String(form.get('MaxTransfersPerCall') ?? '').trim();
  if (!/^\d+$/.test(max) || Number(max) < 1) {
    return { field: 'MaxTransfersPerCall', message: 'MaxTransfersPerCall: expected a whole number >= 1' };
  }
  if (!MODES.includes(String(form.get('TransferMode'))))
    return { field: 'TransferMode', message: 'choose a transfer mode' };
  if (!CALLER_IDS.includes(String(form.get('TransferCallerId')))) {
    return { field: 'TransferCallerId', message: 'choose whose number the target sees' };
  }
  return undefined;
}

function PolicyForm({ trunk, onSaved }: { trunk: Trunk; onSaved: () => void }) {
  const [problem, setProblem] = useState<{ field: string | null; message: string } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(null);
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const invalid = validate(form);
    if (invalid) {
      setProblem(invalid);
      document.getElementById(`trunk-${invalid.field}`)?.focus();
      return;
    }
    const body: Record<string, unknown> = {};
    const mode = String(form.get('TransferMode'));
    const callerId = String(form.get('TransferCallerId'));
    const max = Number(form.get('MaxTransfersPerCall'));
    if (mode !== trunk.TransferMode) body.TransferMode = mode;
    if (callerId !== trunk.TransferCallerId) body.TransferCallerId = callerId;
    if (max !== trunk.MaxTransfersPerCall) body.MaxTransfersPerCall = max;
    const reason = String(form.get('Reason') ?? '').trim();
    if (Object.keys(body).length === 0) {
      setProblem({ field: null, message: 'Nothing to change: these are the settings in force.' });
      return;
    }
    if (reason) body.Reason = reason;
    setBusy(true);
    try {
      const after = await request<Trunk>(`/v1/Trunks/${trunk.Sid}`, { method: 'POST', body });
      setProblem(null);
      setDone(`Saved: revision ${after.Revision}. It applies to the next REFER.`);
      onSaved();
    } catch (error) {
      const e = error as ApiError;
      setProblem({ field: e.field, message: e.message });
    } finally {
      setBusy(false);
    }
  };
  const invalid = (field: string) => problem?.field === field;
  const described = (field: string) => (invalid(field) ? 'policy-problem' : undefined);
  return html`<form class="policy" onSubmit=${submit} novalidate aria-describedby="policy-help">
    <p id="policy-help" class="muted small">Changes apply to the next REFER on this trunk and are recorded in the audit with your API key.</p>
    <div class="field">
      <label for="trunk-TransferMode">Transfer mode</label>
      <select id="trunk-TransferMode" name="TransferMode" aria-invalid=${invalid('TransferMode')} aria-describedby=${described('TransferMode')}>
        ${MODES.map((m) => html`<option value=${m} selected=${m === trunk.TransferMode}>${m}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="trunk-TransferCallerId">Caller ID the target sees</label>
      <select id="trunk-TransferCallerId" name="TransferCallerId" aria-invalid=${invalid('TransferCallerId')} aria-describedby=${described('TransferCallerId')}>
        ${CALLER_IDS.map((m) => html`<option value=${m} selected=${m === trunk.TransferCallerId}>${m}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="trunk-MaxTransfersPerCall">Max transfers per call</label>
      <input
        id="trunk-MaxTransfersPerCall"
        name="MaxTransfersPerCall"
        type="number"
        inputmode="numeric"
        min="1"
        step="1"
        required
        value=${trunk.MaxTransfersPerCall}
        aria-invalid=${invalid('MaxTransfersPerCall')}
        aria-describedby=${described('MaxTransfersPerCall')}
      />
    </div>
    <div class="field wide">
      <label for="trunk-Reason">Reason (kept in the audit)</label>
      <input id="trunk-Reason" name="Reason" type="text" maxlength="500" autocomplete="off" />
    </div>
    <div class="field actions"><button type="submit" disabled=${busy}>${busy ? 'Saving…' : 'Save changes'}</button></div>
    ${problem ? html`<p id="policy-problem" class="note error" role="alert">${problem.message}</p>` : null}
    ${done ? html`<p class="note ok" role="status">${done}</p>` : null}
  </form>`;
}
