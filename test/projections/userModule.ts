/** A projection module as users write theirs, outside the pivot's source (the loading tests' subject). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes into `dir` a user's projection counting calls per trunk, and returns its path; `version` and
 * the module's extension (`.ts` typed, `.mjs` plain) vary per test.
 */
export function writeModule(dir: string, file: string, version = 1): string {
  const path = join(dir, file);
  const typed = file.endsWith('.ts');
  writeFileSync(
    path,
    [
      typed ? "import type { Database } from 'better-sqlite3';" : '',
      'export default (options) => ({',
      "  name: options.name ?? 'callsPerTrunk',",
      `  version: ${version},`,
      "  tables: { calls_per_trunk: 'CREATE TABLE IF NOT EXISTS calls_per_trunk (trunk_sid TEXT PRIMARY KEY, calls INTEGER NOT NULL)' },",
      `  prepare: (db${typed ? ': Database' : ''}) => db.prepare('INSERT INTO calls_per_trunk VALUES (?, 1) ON CONFLICT (trunk_sid) DO UPDATE SET calls = calls + 1'),`,
      `  handlers: { CallReceived(event${typed ? ': { data: { trunkSid: string } }' : ''}, bump${typed ? ': { run(sid: string): void }' : ''}) { bump.run(event.data.trunkSid); } },`,
      '});',
    ].join('\n'),
  );
  return path;
}
