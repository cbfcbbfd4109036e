/**
 * Runs PostgreSQL projections (projections/api.ts `database: 'postgres'`) over `$all`, as runner.ts runs
 * the SQLite ones: each batch of events is folded and the checkpoints (table
 * `pivot_projection_checkpoints`) advanced in one PostgreSQL transaction, after checking with
 * `SELECT ... FOR UPDATE` that no other runner moved them; a version change drops the projection's
 * tables and folds it again from position 0.
 */
import pg from 'pg';
import { type Catalogue, catalogue as pivotCatalogue } from '../src/events/catalogue.ts';
import { type Logger, silentLogger } from '../src/log.ts';
import type { Backoff } from '../src/shared/backoff.ts';
import { retryLoop } from '../src/shared/retryLoop.ts';
import type { AllSubscription, EventStore, RecordedEvent } from '../src/store/port.ts';
import {
  NON_SESSION_TYPES,
  type PivotEventType,
  type PostgresHandler,
  type PostgresProjectionDefinition,
  type ProjectedEvent,
  sessionSidOf,
} from './api.ts';
import { positionWaiters, statusOf, timedRebuild } from './progress.ts';
import type { ProjectionRunner, RunnerStats } from './runner.ts';

export interface PostgresProjectionRunnerOptions {
  store: EventStore;
  /** libpq URL of the database the projections' tables live in. */
  url: string;
  projections: PostgresProjectionDefinition[];
  log?: Logger;
  /** Events per transaction. Default 1000. */
  batchSize?: number;
  catalogue?: Catalogue;
}

export interface PostgresProjectionRunner extends ProjectionRunner {
  /** Stops following and closes the connection pool. */
  close(): Promise<void>;
}

/** Waits after a failed batch, doubling up to 30 s, as the SQLite runner does. */
const RETRY: Backoff = { first: 500, max: 30_000 };

const CHECKPOINTS = `CREATE TABLE IF NOT EXISTS pivot_projection_checkpoints (
  name       TEXT        PRIMARY KEY,
  version    INTEGER     NOT NULL,
  position   BIGINT      NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
)`;

class CheckpointMoved extends Error {}

export async function createPostgresProjectionRunner(
  options: PostgresProjectionRunnerOptions,
): Promise<PostgresProjectionRunner> {
  const { store, projections } = options;
  const log = options.log ?? silentLogger;
  const batchSize = options.batchSize ?? 1000;
  const catalogue = options.catalogue ?? pivotCatalogue;
  const names = projections.map((p) => p.name);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 2,
    application_name: 'sip-pivot projections',
  });
  pool.on('error', () => {});

  async function inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  const reset = async (client: pg.ClientBase, projection: PostgresProjectionDefinition) => {
    for (const table of Object.keys(projection.tables)) await client.query(`DROP TABLE IF EXISTS "${table}"`);
    for (const ddl of Object.values(projection.tables)) await client.query(ddl);
    await client.query(
      `INSERT INTO pivot_projection_checkpoints (name, version, position, updated_at) VALUES ($1, $2, 0, now())
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = 0, updated_at = now()`,
      [projection.name, projection.version],
    );
  };

  try {
    await inTransaction(async (client) => {
      // One runner at a time creates and resets tables.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('sip-pivot projections'))");
      await client.query(CHECKPOINTS);
      const { rows } = await client.query<{ name: string; version: number }>(
        'SELECT name, version FROM pivot_projection_checkpoints WHERE name = ANY($1)',
        [names],
      );
      for (const projection of projections) {
        const stored = rows.find((r) => r.name === projection.name);
        if (stored && stored.version === projection.version) {
          for (const ddl of Object.values(projection.tables)) await client.query(ddl);
        } else {
          if (stored) log('info', 'projection version changed, rebuilding', { projection: projection.name });
          await reset(client, projection);
        }
      }
    });
  } catch (error) {
    await pool.end();
    throw error;
  }

  const stored = async (client: pg.ClientBase | pg.Pool = pool, lock = false) => {
    const { rows } = await client.query<{ name: string; position: string; updated_at: Date }>(
      `SELECT name, position, updated_at FROM pivot_projection_checkpoints WHERE name = ANY($1)${lock ? ' FOR UPDATE' : ''}`,
      [names],
    );
    return new Map(rows.map((r) => [r.name, { position: Number(r.position), updatedAt: r.updated_at }]));
  };
  let positions = new Map([...(await stored())].map(([name, s]) => [name, s.position]));
  const lowest = () => Math.min(...names.map((n) => positions.get(n) ?? 0));
  const counters: RunnerStats = { batches: 0, events: 0, conflicts: 0, failures: 0 };
  let error: string | undefined;
  const waiters = positionWaiters(lowest, 'postgres projections');

  async function applyBatch(events: RecordedEvent[]): Promise<boolean> {
    if (events.length === 0) return true;
    const expected = new Map(positions);
    const last = events.at(-1)!.position;
    try {
      await inTransaction(async (client) => {
        const now = await stored(client, true);
        for (const name of names)
          if ((now.get(name)?.position ?? 0) !== expected.get(name)) throw new CheckpointMoved();
        for (const recorded of events) {
          let event: ProjectedEvent | undefined;
          for (const projection of projections) {
            if (recorded.position <= expected.get(projection.name)!) continue;
            const handler = projection.handlers[recorded.type as PivotEventType] as
              | PostgresHandler<PivotEventType>
              | undefined;
            if (!handler) continue;
            event ??= { ...catalogue.upcast(recorded), sessionSid: sessionSidOf(recorded) };
            if (event.sessionSid === undefined && !NON_SESSION_TYPES.has(event.type)) continue;
            await handler(event as Parameters<typeof handler>[0], client);
          }
        }
        await client.query(
          'UPDATE pivot_projection_checkpoints SET position = $1, updated_at = now() WHERE name = ANY($2) AND position < $1',
          [last, names],
        );
      });
    } catch (thrown) {
      positions = new Map([...(await stored())].map(([name, s]) => [name, s.position]));
      if (thrown instanceof CheckpointMoved) {
        counters.conflicts++;
        return false;
      }
      counters.failures++;
      error = `${(thrown as Error).message} (batch ending at position ${last})`;
      throw thrown;
    }
    error = undefined;
    counters.batches++;
    counters.events += events.length;
    for (const name of names) positions.set(name, Math.max(positions.get(name) ?? 0, last));
    waiters.notify();
    return true;
  }

  async function catchUp(): Promise<number> {
    positions = new Map([...(await stored())].map(([name, s]) => [name, s.position]));
    let read = 0;
    for (;;) {
      const page = await store.readAll({ after: lowest(), maxCount: batchSize });
      if (page.length === 0) return read;
      read += page.length;
      await applyBatch(page);
    }
  }

  let subscription: AllSubscription | undefined;
  const following = retryLoop({
    attempt: followOnce,
    backoff: RETRY,
    onFailure: (thrown, delayMs) =>
      log('error', 'postgres projection batch failed, retrying', { error: error ?? String(thrown), delayMs }),
    interrupt: () => subscription?.close(),
  });

  /** Catches up, then follows `$all` until stop, a conflict or an error. */
  async function followOnce(): Promise<void> {
    await catchUp();
    const live = store.subscribeToAll({ after: lowest() });
    subscription = live;
    const iterator = live[Symbol.asyncIterator]();
    let batch: RecordedEvent[] = [];
    let pending = iterator.next();
    while (!following.stopped) {
      const tick = batch.length > 0 ? new Promise<'tick'>((r) => setImmediate(() => r('tick'))) : undefined;
      const next = tick ? await Promise.race([pending, tick]) : await pending;
      if (next === 'tick') {
        if (!(await applyBatch(batch))) break;
        batch = [];
        continue;
      }
      if (next.done) break;
      batch.push(next.value);
      pending = iterator.next();
      if (batch.length >= batchSize) {
        if (!(await applyBatch(batch))) break;
        batch = [];
      }
    }
    await live.close();
  }

  const runner: PostgresProjectionRunner = {
    projections: projections.map((p) => ({
      name: p.name,
      version: p.version,
      tables: Object.keys(p.tables),
    })),
    catchUp,
    start: following.start,
    stop: following.stop,
    async close() {
      await runner.stop();
      await pool.end();
    },
    async rebuild(selected) {
      const chosen = selected && selected.length > 0 ? selected : names;
      for (const name of chosen) {
        if (!names.includes(name)) throw new Error(`no projection named ${name} (have: ${names.join(', ')})`);
      }
      await inTransaction(async (client) => {
        for (const projection of projections)
          if (chosen.includes(projection.name)) await reset(client, projection);
      });
      return timedRebuild(chosen, catchUp);
    },
    async status() {
      const now = await stored();
      return statusOf(store, projections, (name) => {
        const s = now.get(name);
        return s && { position: s.position, updatedAt: s.updatedAt.toISOString() };
      });
    },
    waitFor: waiters.waitFor,
    lastError: () => error,
    stats: () => ({ ...counters }),
  };
  return runner;
}
