/** The `headers` of a command, as header lines, minus the ones the adapter owns. Pure. */
import type { HeaderValue } from '../shared/messages.ts';
import { canonicalHeaderName, normalizeHeaderName } from './headerNames.ts';

/** Headers the adapter writes itself from the command's typed fields or from the stored request. */
const OWNED = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'content-length', 'max-forwards']);

export function extraHeaderLines(
  headers: Record<string, HeaderValue> | undefined,
  also: readonly string[] = [],
): { lines: Array<readonly [string, string]>; ignored: string[] } {
  const lines: Array<readonly [string, string]> = [];
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    const normalized = normalizeHeaderName(name);
    if (OWNED.has(normalized) || also.includes(normalized)) ignored.push(name);
    else
      for (const one of typeof value === 'string' ? [value] : value)
        lines.push([canonicalHeaderName(normalized), one]);
  }
  return { lines, ignored };
}
