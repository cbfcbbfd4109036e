import type pg from 'pg';
import type { AppendOutcome, AppendRequest } from '../groupCommit.ts';
import { WrongExpectedVersionError } from '../port.ts';
import type { SchemaNames } from './schema.ts';

interface AppendRow {
  out_index: number;
  out_status: 'appended' | 'duplicate' | 'conflict' | 'id-reused';
  out_revision: string | null;
  out_position: string | null;
}

/**
 * Sends appends to the append function (schema.ts) as one statement: one round trip and one
 * transaction for every event of every append, flattened into column arrays that the function unnests.
 * The function draws the batch's transaction id and positions, checks each append's ids and expected
 * revision, inserts and notifies listeners. Refusals come back per append; only an unexpected database error rejects.
 */
export async function appendBatch(
  pool: pg.Pool,
  names: SchemaNames,
  requests: readonly AppendRequest[],
): Promise<AppendOutcome[]> {
  const events = requests.flatMap((request) => request.events);
  const { rows } = await pool.query<AppendRow>({
    name: `sip_pivot_append_${names.schema}`,
    text: `SELECT out_index, out_status, out_revision, out_position
           FROM ${names.appendFunction}($1, $2, $3, $4, $5, $6, $7, $8)`,
    values: [
      requests.map((request) => request.stream),
      requests.map(({ expectedRevision }) =>
        typeof expectedRevision === 'number' ? 'exact' : expectedRevision,
      ),
      requests.map(({ expectedRevision }) =>
        typeof expectedRevision === 'number' ? expectedRevision : null,
      ),
      requests.map((request) => request.events.length),
      events.map((event) => event.id),
      events.map((event) => event.type),
      // JSON text per element; `pg` would otherwise write nested JS arrays as PostgreSQL arrays.
      events.map((event) => JSON.stringify(event.data ?? null)),
      events.map((event) => JSON.stringify(event.metadata ?? {})),
    ],
  });
  if (rows.length !== requests.length) {
    throw new Error(`the append function answered ${rows.length} of ${requests.length} appends`);
  }
  return requests.map((request, index) => {
    const row = rows.find((candidate) => candidate.out_index === index + 1);
    if (!row) throw new Error(`the append function did not answer append ${index + 1}`);
    return toOutcome(request, row);
  });
}

function toOutcome({ stream, events, expectedRevision }: AppendRequest, row: AppendRow): AppendOutcome {
  const revision = Number(row.out_revision);
  switch (row.out_status) {
    case 'appended':
    case 'duplicate':
      return { ok: true, result: { nextExpectedRevision: revision, position: Number(row.out_position) } };
    case 'conflict':
      return {
        ok: false,
        error: new WrongExpectedVersionError(stream, expectedRevision, revision < 0 ? 'no-stream' : revision),
      };
    case 'id-reused':
      // Some but not all ids stored (or one id twice in a batch) is a caller bug, not a retry.
      return {
        ok: false,
        error: new Error(
          `stream ${stream}: an event id of the append [${events.map((event) => event.id).join(', ')}] is already stored`,
        ),
      };
  }
}
