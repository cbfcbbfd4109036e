/** How values read in the console: UTC times, durations, prices, short sids. */

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

export function clock(iso: string): string {
  return iso.slice(11, 23);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${value} ms`;
}

export function money(amount: number | null | undefined, unit: string | null | undefined): string {
  if (amount === null || amount === undefined) return '—';
  return `${amount.toFixed(4)} ${unit ?? ''}`.trim();
}

/**
 * `CA…89abcdef`: the kind and the last digits, enough to tell sids apart on a page (new sids start
 * with the time, so their first digits are alike); the full sid is in the title and the link.
 */
export function short(sid: string | null | undefined): string {
  if (!sid) return '—';
  return `${sid.slice(0, 2)}…${sid.slice(-8)}`;
}

/** A value for `<input type="datetime-local">` from ISO (UTC), and back. */
export function toLocalInput(iso: string | null): string {
  return iso ? iso.slice(0, 16) : '';
}
export function fromLocalInput(value: string): string | undefined {
  return value ? `${value}:00Z` : undefined;
}
