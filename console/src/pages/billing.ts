/** Billing: per trunk per day with totals, the per-leg lines behind them, and CSV exports of both. */
import { useState } from 'preact/hooks';
import { request } from '../api.ts';
import { Filters, trunkField } from '../filters.ts';
import { money, short } from '../format.ts';
import { useResource, useTrunks } from '../hooks.ts';
import { html } from '../html.ts';
import { apiPath, href, type Route } from '../router.ts';
import type { BillingLine, Page } from '../types.ts';
import { ErrorNote, Loading, Pager, pick, Section, TableWrap } from '../ui.ts';

interface Day {
  TrunkSid: string;
  Day: string;
  Currency: string;
  Calls: number;
  Legs: number;
  Minutes: number;
  Amount: number;
}

const FILTERS = ['TrunkSid', 'StartDate', 'EndDate'];

export function BillingPage({ route }: { route: Route }) {
  const filters = pick(route.query, FILTERS);
  const summary = useResource<{ Days: Day[]; Totals: Omit<Day, 'Day'>[] }>(apiPath('v1/Billing', filters));
  const lines = useResource<Page & { Lines: BillingLine[] }>(
    apiPath('v1/Billing/Lines', { ...filters, Page: route.query.get('Page'), PageSize: 50 }),
  );
  const trunks = useTrunks();
  const name = (sid: string) => trunks?.find((t) => t.Sid === sid)?.Name ?? short(sid);
  const [exporting, setExporting] = useState<string | null>(null);

  const exportLines = async () => {
    setExporting('Reading every line…');
    try {
      const all: BillingLine[] = [];
      for (let page = 0; ; page++) {
        const p = await request<Page & { Lines: BillingLine[] }>(
          apiPath('v1/Billing/Lines', { ...filters, PageSize: 1000, Page: page }),
        );
        all.push(...p.Lines);
        if (!p.NextPageUri) break;
      }
      save(
        'billing-lines.csv',
        toCsv(
          [
            'CallSid',
            'Line',
            'TrunkSid',
            'Day',
            'Kind',
            'Number',
            'Description',
            'RatePerMinute',
            'Minutes',
            'Amount',
            'Currency',
          ],
          all.map((l) => [
            l.CallSid,
            l.Line,
            l.TrunkSid,
            l.Day,
            l.Kind,
            l.Number,
            l.Description,
            l.RatePerMinute,
            l.Minutes,
            l.Amount,
            l.Currency,
          ]),
        ),
      );
      setExporting(`Exported ${all.length} lines.`);
    } catch (error) {
      setExporting(`Export failed: ${(error as Error).message}`);
    }
  };
  const exportDays = () => {
    const days = summary.data?.Days ?? [];
    save(
      'billing-per-day.csv',
      toCsv(
        ['TrunkSid', 'Trunk', 'Day', 'Currency', 'Calls', 'Legs', 'Minutes', 'Amount'],
        days.map((d) => [
          d.TrunkSid,
          name(d.TrunkSid),
          d.Day,
          d.Currency,
          d.Calls,
          d.Legs,
          d.Minutes,
          d.Amount,
        ]),
      ),
    );
  };

  return html`<h1>Billing</h1>
    <${Filters}
      path="billing"
      values=${filters}
      fields=${[
        trunkField(trunks),
        { name: 'StartDate', label: 'From day (UTC)', kind: 'date' },
        { name: 'EndDate', label: 'To day (UTC)', kind: 'date' },
      ]}
    />
    <${Section} title="Per trunk per day" id="per-day">
      <p class="toolbar"><button type="button" class="secondary" onClick=${exportDays} disabled=${!summary.data}>Export CSV (per day)</button></p>
      <${ErrorNote} error=${summary.error} />
      <${Loading} when=${summary.loading && !summary.data} />
      ${
        summary.data
          ? html`<${TableWrap} label="Billing per trunk per day">
              <table>
                <thead><tr><th scope="col">Day</th><th scope="col">Trunk</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Legs</th><th scope="col" class="num">Minutes</th><th scope="col" class="num">Amount</th></tr></thead>
                <tbody>
                  ${summary.data.Days.map(
                    (d) =>
                      html`<tr><td>${d.Day}</td><th scope="row">${name(d.TrunkSid)}</th><td class="num">${d.Calls}</td><td class="num">${d.Legs}</td><td class="num">${d.Minutes}</td><td class="num">${money(d.Amount, d.Currency)}</td></tr>`,
                  )}
                </tbody>
                <tfoot>
                  ${summary.data.Totals.map(
                    (t) =>
                      html`<tr><th scope="row">Total</th><th scope="row">${name(t.TrunkSid)}</th><td class="num">${t.Calls}</td><td class="num">${t.Legs}</td><td class="num">${t.Minutes}</td><td class="num">${money(t.Amount, t.Currency)}</td></tr>`,
                  )}
                </tfoot>
              </table>
            <//>`
          : null
      }
    <//>
    <${Section} title="Lines (one per billed leg)" id="lines">
      <p class="toolbar">
        <button type="button" class="secondary" onClick=${exportLines}>Export CSV (every line)</button>
        ${exporting ? html`<span role="status">${exporting}</span>` : null}
      </p>
      <${ErrorNote} error=${lines.error} />
      ${
        lines.data
          ? html`<${TableWrap} label="Billing lines">
              <table>
                <thead><tr><th scope="col">Day</th><th scope="col">Call</th><th scope="col">Line</th><th scope="col">Kind</th><th scope="col">Number</th><th scope="col">What</th><th scope="col" class="num">Minutes</th><th scope="col" class="num">Amount</th></tr></thead>
                <tbody>
                  ${lines.data.Lines.map(
                    (l) =>
                      html`<tr><td>${l.Day}</td><th scope="row"><a href=${href(`calls/${l.CallSid}`)} title=${l.CallSid}>${short(l.CallSid)}</a></th><td>${l.Line}</td><td>${l.Kind}</td><td>${l.Number}</td><td>${l.Description}</td><td class="num">${l.Minutes}</td><td class="num">${money(l.Amount, l.Currency)}</td></tr>`,
                  )}
                </tbody>
              </table>
            <//>`
          : null
      }
      <${Pager} page=${lines.data} path="billing" query=${filters} />
    <//>`;
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled. */
export function toCsv(header: string[], rows: unknown[][]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

function save(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
