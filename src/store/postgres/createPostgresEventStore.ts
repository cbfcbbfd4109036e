import pg from 'pg';
import { createAppendNotifier, createCatchUpSubscription } from '../catchUpSubscription.ts';
import { createGroupCommit } from '../groupCommit.ts';
import type { AllSubscription, EventStore } from '../port.ts';
import { appendBatch } from './appendBatch.ts';
import { createNotificationListener } from './listener.ts';
import { migrate } from './migrate.ts';
import { countEvents, headPosition, readAll, readStream } from './read.ts';
import { schemaNames } from './schema.ts';

export interface PostgresEventStoreOptions {
  /** A libpq connection URL, e.g. `postgres://user@127.0.0.1:5432/pivot`. */
  url: string;
  /** PostgreSQL schema holding the store's tables; created if missing. Default `public`. */
  schema?: string;
  /** Connections in the pool (the LISTEN connection comes on top). Default 10. */
  poolSize?: number;
  /** Longest a live subscription waits before re-reading when no notification arrives. Default 1000. */
  pollIntervalMs?: number;
}

/**
 * An event store on PostgreSQL. The schema is created or migrated on first use.
 *
 * Appends run in parallel: no lock is held until commit, so appends to different streams (from one
 * process or several) insert and commit side by side, and their WAL flushes are shared by PostgreSQL's
 * own group commit. Appends to one stream meet on its row in the streams table: the later one waits for
 * the earlier one's commit and then checks its expected revision against it.
 *
 * Gap-free `$all` without ordering commits: each append transaction draws its transaction id and its
 * block of positions in one step (schema.ts, version 2), so positions grow with transaction ids, and
 * every event row records its transaction id. Readers show an event only once its transaction is older
 * than the oldest transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`), and nothing
 * after an event they cannot show yet (read.ts). An append that commits late therefore holds readers
 * back for as long as it runs, instead of being skipped: `position > checkpoint` paging never misses
 * it. The horizon is server-wide, so a long transaction in another database delays readers (never
 * writers); reads wait a moment for such transactions and subscriptions read again when they end.
 *
 * Each process still group-commits the appends of concurrent calls into one statement (../groupCommit.ts)
 * and keeps a few such batches in flight at once.
 */
export function createPostgresEventStore(options: PostgresEventStoreOptions): EventStore {
  const names = schemaNames(options.schema);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: 'sip-pivot',
  });
  // An idle client that loses its connection emits here; without a handler the process would exit.
  // The pool discards that client and the next query opens a fresh one.
  pool.on('error', () => {});

  let closed = false;
  let ready: Promise<number> | undefined;
  // Retried on the next call if it fails (e.g. the database was not up yet).
  const whenReady = () => {
    if (closed) return Promise.reject(new Error('the event store is closed'));
    ready ??= migrate(pool, names).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };

  const notifier = createAppendNotifier();
  const listener = createNotificationListener({
    url: options.url,
    channel: names.channel,
    onNotify: () => notifier.notify(),
  });
  const subscriptions = new Set<AllSubscription>();
  const groupCommit = createGroupCommit({
    write: (requests) => appendBatch(pool, names, requests),
    onBatchError: 'retry-alone',
    // Leaves connections of the pool for reads.
    maxInFlight: Math.max(1, Math.floor((options.poolSize ?? 10) / 2)),
  });

  return {
    async appendToStream(stream, events, { expectedRevision }) {
      if (events.length === 0) throw new TypeError(`stream ${stream}: an append needs at least one event`);
      await whenReady();
      return groupCommit.append({ stream, events, expectedRevision });
    },
    async readStream(stream, readOptions) {
      await whenReady();
      return readStream(pool, names, stream, readOptions);
    },
    async readAll(readOptions) {
      await whenReady();
      return readAll(pool, names, readOptions);
    },
    subscribeToAll(subscribeOptions = {}) {
      if (closed) throw new Error('the event store is closed');
      listener.start();
      const subscription: AllSubscription = createCatchUpSubscription({
        after: subscribeOptions.after ?? 0,
        async readPage(after, maxCount) {
          try {
            await whenReady();
            return await readAll(pool, names, { after, maxCount });
          } catch (error) {
            // Closing the store ends the iteration instead of surfacing "pool is ending" errors.
            if (closed) return [];
            throw error;
          }
        },
        notifier,
        pollIntervalMs: options.pollIntervalMs ?? 1000,
        onClose: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },
    async headPosition() {
      await whenReady();
      return headPosition(pool, names);
    },
    async countEvents(after, upTo) {
      await whenReady();
      return countEvents(pool, names, after, upTo);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      await listener.close();
      // Appends already accepted get written, so their callers learn the outcome rather than an error
      // about a closed pool.
      await groupCommit.drained();
      await pool.end();
    },
  };
}
