/**
 * Writes the CDR CSV (projections/examples/cdr.ts) of a views database to stdout:
 *   npx tsx projections/examples/cdr-export.ts --views data/views.db [--since 2025-03-01] [--until 2025-04-01]
 */
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { cdrCsv } from './cdr.ts';

const { values } = parseArgs({
  options: { views: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' } },
});
if (!values.views) {
  process.stderr.write('cdr-export: --views <views.db> is required\n');
  process.exit(1);
}
const db = new Database(values.views, { readonly: true, fileMustExist: true });
try {
  process.stdout.write(
    cdrCsv(db, {
      ...(values.since ? { since: values.since } : {}),
      ...(values.until ? { until: values.until } : {}),
    }),
  );
} finally {
  db.close();
}
