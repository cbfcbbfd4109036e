import pg from 'pg';
import { createAppendNotifier, createCatchUpSubscription } from '../catchUpSubscription.ts';
import type { AllSubscription, EventStore } from '../port.ts';
import { appendBatch } from './appendBatch.ts';
import { createGroupCommit } from './groupCommit.ts';
import { createNotificationListener } from './listener.ts';
import { migrate } from './migrate.ts';
import { headPosition, readAll, readStream } from './read.ts';
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
 * Gap-free `$all`: every append transaction takes one advisory lock (`pg_advisory_xact_lock` on a
 * per-schema key) before it draws positions, and holds it until it commits. Positions are therefore
 * assigned and committed in the same order, and PostgreSQL makes a transaction visible before releasing
 * its locks, so whenever a reader can see position N, every lower position is already committed or
 * never will be (holes from a rolled-back append are fine, they are never filled later). Readers and
 * subscriptions can then page with a plain `position > checkpoint` and need no snapshot bookkeeping.
 *
 * Trade-off: appends are serialised across all streams and all processes on one database, so write
 * throughput is bounded by one commit at a time. The lock is held only for the one-statement append
 * function and its commit (no client round trip inside it), and each process group-commits the appends
 * of concurrent calls into one statement (groupCommit.ts), so the bound is one WAL flush per batch of
 * appends rather than per append. The alternative, concurrent appends with readers stopping at
 * the oldest in-flight transaction (`pg_snapshot_xmin(pg_current_snapshot())` against a per-event xid),
 * scales writes further but makes every reader stall behind any slow writer and costs an extra column
 * and index; an engine whose durable unit is a small per-call batch does not need that scale.
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
  const groupCommit = createGroupCommit({ send: (requests) => appendBatch(pool, names, requests) });

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
