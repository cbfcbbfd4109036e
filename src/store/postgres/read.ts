import type pg from 'pg';
import type { ReadAllOptions, ReadStreamOptions, RecordedEvent } from '../port.ts';
import { type EventRow, eventColumns, toRecordedEvent } from './rows.ts';
import type { SchemaNames } from './schema.ts';

// A negative or fractional maxCount would be a caller bug; LIMIT NULL means no limit.
const limit = (maxCount: number | undefined) =>
  maxCount === undefined ? null : Math.max(0, Math.floor(maxCount));

export async function readStream(
  pool: pg.Pool,
  names: SchemaNames,
  stream: string,
  options: ReadStreamOptions = {},
): Promise<RecordedEvent[]> {
  const { rows } = await pool.query<EventRow>({
    name: `sip_pivot_read_stream_${names.schema}`,
    text: `SELECT ${eventColumns} FROM ${names.events}
           WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
    values: [stream, options.fromRevision ?? 0, limit(options.maxCount)],
  });
  return rows.map(toRecordedEvent);
}

/**
 * Plain `position > after` is gap-free here because positions are committed in order (see the append
 * lock in createPostgresEventStore.ts): once a position is visible, every lower one is too.
 */
export async function readAll(
  pool: pg.Pool,
  names: SchemaNames,
  options: ReadAllOptions = {},
): Promise<RecordedEvent[]> {
  const { rows } = await pool.query<EventRow>({
    name: `sip_pivot_read_all_${names.schema}`,
    text: `SELECT ${eventColumns} FROM ${names.events} WHERE position > $1 ORDER BY position LIMIT $2`,
    values: [options.after ?? 0, limit(options.maxCount)],
  });
  return rows.map(toRecordedEvent);
}

export async function headPosition(pool: pg.Pool, names: SchemaNames): Promise<number> {
  const { rows } = await pool.query<{ head: string }>(
    `SELECT coalesce(max(position), 0) AS head FROM ${names.events}`,
  );
  return Number(rows[0]?.head ?? 0);
}
