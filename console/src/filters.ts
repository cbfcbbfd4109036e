/** A filter form whose fields are query parameters of the page's route (so a filtered view is a link). */
import { html } from './html.ts';
import { navigate } from './router.ts';
import type { Trunk } from './types.ts';

export interface Field {
  name: string;
  label: string;
  kind: 'text' | 'select' | 'datetime' | 'date';
  options?: { value: string; label: string }[];
  placeholder?: string;
  pattern?: string;
}

export function Filters({
  path,
  fields,
  values,
}: {
  path: string;
  fields: Field[];
  values: Record<string, string | undefined>;
}) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const query: Record<string, string | undefined> = {};
    for (const field of fields) {
      const value = String(form.get(field.name) ?? '').trim();
      query[field.name] = field.kind === 'datetime' && value ? `${value}:00Z` : value || undefined;
    }
    navigate(path, query);
  };
  return html`<form class="filters" onSubmit=${submit} aria-label="Filters">
    ${fields.map((field) => {
      const id = `filter-${field.name}`;
      const value = values[field.name] ?? '';
      let input: unknown;
      if (field.kind === 'select') {
        input = html`<select id=${id} name=${field.name} value=${value}>
          <option value="">any</option>
          ${(field.options ?? []).map((o) => html`<option value=${o.value} selected=${o.value === value}>${o.label}</option>`)}
        </select>`;
      } else if (field.kind === 'datetime') {
        input = html`<input id=${id} name=${field.name} type="datetime-local" value=${value.slice(0, 16)} />`;
      } else {
        input = html`<input
          id=${id}
          name=${field.name}
          type=${field.kind === 'date' ? 'date' : 'text'}
          value=${value}
          placeholder=${field.placeholder ?? ''}
          pattern=${field.pattern}
          spellcheck="false"
          autocomplete="off"
        />`;
      }
      return html`<div class="field"><label for=${id}>${field.label}</label>${input}</div>`;
    })}
    <div class="field actions">
      <button type="submit">Apply</button>
      <button type="button" class="secondary" onClick=${() => navigate(path)}>Clear</button>
    </div>
  </form>`;
}

export const SID_PATTERN = (prefix: string) => `${prefix}[0-9a-f]{32}`;

/** The trunk filter of the list pages: a select of the stored trunks, by name. */
export const trunkField = (trunks: readonly Trunk[] | undefined): Field => ({
  name: 'TrunkSid',
  label: 'Trunk',
  kind: 'select',
  options: (trunks ?? []).map((t) => ({ value: t.Sid, label: t.Name })),
});

/** A filter naming one call by its sid. */
export const callField = (name = 'CallSid', label = 'Call'): Field => ({
  name,
  label,
  kind: 'text',
  placeholder: 'CA…',
  pattern: SID_PATTERN('CA'),
});

/** A select of fixed values, each shown as it is. */
export const choiceField = (name: string, label: string, values: readonly string[]): Field => ({
  name,
  label,
  kind: 'select',
  options: values.map((value) => ({ value, label: value })),
});
