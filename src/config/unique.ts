/**
 * Cross-trunk rules zod cannot express per field: trunk names, domains and numbers must be unique, or
 * an inbound call (matched by domain or number) would belong to two trunks. Works on the raw input so
 * duplicates are reported together with every other problem, not only once the rest is valid.
 */
import { formatPath } from './paths.ts';

export function duplicateProblems(input: unknown): string[] {
  const trunks = (input as { trunks?: unknown } | null)?.trunks;
  if (!Array.isArray(trunks)) return [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  // Names, domains (case-insensitive, as DNS is) and numbers each live in their own namespace.
  const check = (kind: string, value: unknown, path: PropertyKey[]) => {
    if (typeof value !== 'string') return;
    const key = `${kind}\u0000${kind === 'domain' ? value.toLowerCase() : value}`;
    const where = formatPath(path);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, where);
    else problems.push(`config: ${where}: duplicate ${kind} ${JSON.stringify(value)} (also ${first})`);
  };
  trunks.forEach((trunk: unknown, i) => {
    if (typeof trunk !== 'object' || trunk === null) return;
    const t = trunk as { name?: unknown; domain?: unknown; numbers?: unknown };
    check('trunk name', t.name, ['trunks', i, 'name']);
    check('domain', t.domain, ['trunks', i, 'domain']);
    if (Array.isArray(t.numbers)) {
      t.numbers.forEach((n: unknown, j) => {
        check('number', n, ['trunks', i, 'numbers', j]);
      });
    }
  });
  return problems;
}
