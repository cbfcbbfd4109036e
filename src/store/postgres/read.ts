import type pg from 'pg';
import { backoffMs } from '../../shared/backoff.ts';
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
 * How long a read of `$all` keeps trying when committed events wait behind an older transaction still
 * running, before it answers with what is safe to show. Appends commit in milliseconds; a transaction
 * that stays open longer (anywhere on the server: the horizon is server-wide) only delays readers, and
 * subscriptions read again on their next wake-up.
 */
const settleBudgetMs = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits with growing pauses while `read` says rows are held back, within the settle budget. */
async function settled<T extends { held: boolean }>(read: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let tries = 0; ; tries++) {
    const result = await read();
    if (!result.held || Date.now() - started >= settleBudgetMs) return result;
    await sleep(backoffMs(tries, { first: 1, max: 50 }));
  }
}

/**
 * Positions grow with transaction ids (the append function draws both at once), so an event is safe
 * to show once its transaction is older than the oldest one still running: every lower position is
 * then committed or never will be. A row past that horizon is held back, and so is everything after it,
 * which is what keeps `position > checkpoint` paging gap-free while appends commit in parallel.
 */
const horizon = 'pg_snapshot_xmin(pg_current_snapshot())';

export async function readAll(
  pool: pg.Pool,
  names: SchemaNames,
  options: ReadAllOptions = {},
): Promise<RecordedEvent[]> {
  const wanted = limit(options.maxCount);
  const { events } = await settled(async () => {
    const { rows } = await pool.query<EventRow & { safe: boolean }>({
      name: `sip_pivot_read_all_${names.schema}`,
      text: `SELECT ${eventColumns}, transaction_id < ${horizon} AS safe FROM ${names.events}
             WHERE position > $1 ORDER BY position LIMIT $2`,
      values: [options.after ?? 0, wanted],
    });
    const unsafe = rows.findIndex((row) => !row.safe);
    const shown = unsafe < 0 ? rows : rows.slice(0, unsafe);
    // A full page of safe events needs no waiting for the rest.
    const held = unsafe >= 0 && (wanted === null || shown.length < wanted);
    return { events: shown.map(toRecordedEvent), held };
  });
  return events;
}

/** The newest position a reader of `$all` can be shown (see `readAll`). */
export async function headPosition(pool: pg.Pool, names: SchemaNames): Promise<number> {
  // Both walk the position index from its end: the newest row, then the newest safe one.
  const newestSafe = async () => {
    const { rows } = await pool.query<{ position: string }>(
      `SELECT position FROM ${names.events} WHERE transaction_id < ${horizon} ORDER BY position DESC LIMIT 1`,
    );
    return Number(rows[0]?.position ?? 0);
  };
  const { head } = await settled(async () => {
    const { rows } = await pool.query<{ position: string; safe: boolean }>(
      `SELECT position, transaction_id < ${horizon} AS safe FROM ${names.events} ORDER BY position DESC LIMIT 1`,
    );
    const newest = rows[0];
    if (!newest) return { head: 0, held: false };
    if (newest.safe) return { head: Number(newest.position), held: false };
    return { head: await newestSafe(), held: true };
  });
  return head;
}

/** Events in (`after`, `upTo`]: the position sequence skips the values of rolled-back appends. */
export async function countEvents(
  pool: pg.Pool,
  names: SchemaNames,
  after: number,
  upTo: number,
): Promise<number> {
  const { rows } = await pool.query<{ count: string }>(
    `SELECT COUNT(*) AS count FROM ${names.events} WHERE position > $1 AND position <= $2`,
    [after, upTo],
  );
  return Number(rows[0]?.count ?? 0);
}
