import { createAppendNotifier, createCatchUpSubscription, sharedPageReader } from './catchUpSubscription.ts';
import { createGroupCommit, type GroupCommitStats } from './groupCommit.ts';
import type { AllSubscription, EventStore } from './port.ts';
import { appendEvents } from './sqlite/appendEvents.ts';
import { openDatabase } from './sqlite/openDatabase.ts';
import { toRecordedEvent } from './sqlite/rows.ts';
import { prepareStatements } from './sqlite/statements.ts';
import { createBatchWriter } from './sqlite/writeBatch.ts';
import { startWriterThread } from './sqlite/writer.ts';

export interface SqliteEventStoreOptions {
  /** The database file; its directory is created if missing. */
  path: string;
  /**
   * How often an idle subscription re-reads the file, to see appends made by another process (appends
   * through this instance wake it at once). Default 200 ms.
   */
  pollIntervalMs?: number;
  /**
   * Commit appends on a thread of their own (sqlite/writer.ts), so the fsync of each commit does not
   * stop the main thread. Default false: in-thread, as a library user or a short-lived tool wants;
   * the processes of `pivot` that serve calls turn it on (store/open.ts).
   */
  writerThread?: boolean;
}

export type SqliteEventStoreStats = GroupCommitStats;

/** The embedded default backend: one SQLite file, one writer, group-committed appends. */
export interface SqliteEventStore extends EventStore {
  /** Counters for tests and metrics, e.g. to check that appends of one tick shared a transaction. */
  stats(): SqliteEventStoreStats;
}

export function createSqliteEventStore(options: SqliteEventStoreOptions): SqliteEventStore {
  const db = openDatabase(options.path);
  const statements = prepareStatements(db);
  const notifier = createAppendNotifier();
  // An in-memory database exists in its own connection only: it cannot be written from another thread.
  const writer =
    options.writerThread && options.path !== ':memory:' ? startWriterThread(options.path) : undefined;
  const groupCommit = createGroupCommit({
    write:
      writer?.write ??
      createBatchWriter(db, (request, recordedAt) => appendEvents(statements, request, recordedAt)),
    // One writer per file: batches queue behind each other. A failed transaction (disk full, I/O) is
    // not retried append by append.
    onBatchError: 'fail-all',
    onCommitted: notifier.notify,
  });
  const subscriptions = new Set<AllSubscription>();
  const livePage = sharedPageReader(
    (after, maxCount) => statements.readAll.all(after, maxCount).map(toRecordedEvent),
    notifier,
  );
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new Error(`event store ${options.path} is closed`);
  };
  const limit = (maxCount: number | undefined) => (maxCount === undefined ? -1 : Math.max(0, maxCount));

  return {
    async appendToStream(stream, events, { expectedRevision }) {
      assertOpen();
      if (events.length === 0) throw new TypeError(`stream ${stream}: an append needs at least one event`);
      return groupCommit.append({ stream, events, expectedRevision });
    },

    async readStream(stream, readOptions = {}) {
      assertOpen();
      const rows = statements.readStream.all(
        stream,
        readOptions.fromRevision ?? 0,
        limit(readOptions.maxCount),
      );
      return rows.map(toRecordedEvent);
    },

    async readAll(readOptions = {}) {
      assertOpen();
      return statements.readAll.all(readOptions.after ?? 0, limit(readOptions.maxCount)).map(toRecordedEvent);
    },

    subscribeToAll(subscribeOptions = {}) {
      assertOpen();
      const subscription = createCatchUpSubscription({
        after: subscribeOptions.after ?? 0,
        // Checked here because the store may close while a subscriber is between pages.
        readPage: async (after, maxCount) => (closed ? [] : livePage(after, maxCount)),
        notifier,
        pollIntervalMs: options.pollIntervalMs ?? 200,
        onClose: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },

    async headPosition() {
      assertOpen();
      return statements.headPosition.get()?.position ?? 0;
    },

    stats: groupCommit.stats,

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      // Appends already accepted get written, so their callers learn the outcome rather than hang.
      await groupCommit.drained();
      await writer?.close();
      db.close();
    },
  };
}
