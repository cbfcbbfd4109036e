import type { Database } from 'better-sqlite3';
import type { AppendResult } from '../port.ts';
import type { AppendRequest } from './appendEvents.ts';

/**
 * Group commit: every append requested in the same tick is written in one SQLite transaction, so with
 * `synchronous=FULL` a batch of concurrent calls costs one fsync instead of one per call. Each append
 * runs in its own savepoint, so one append's conflict rolls back only that append.
 */

export interface GroupCommitStats {
  /** Committed write transactions (one per batch). */
  transactions: number;
  /** Appends that took part in a committed transaction, succeeded or refused. */
  appends: number;
}

export interface GroupCommit {
  append(request: AppendRequest): Promise<AppendResult>;
  /** Writes whatever is queued right now; close() uses it so no caller is left waiting. */
  flush(): void;
  stats(): GroupCommitStats;
}

type Outcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

interface Queued {
  request: AppendRequest;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export function createGroupCommit(
  db: Database,
  appendOne: (request: AppendRequest, recordedAt: string) => AppendResult,
  /** Called after a transaction that wrote at least one event is committed. */
  onCommitted: () => void,
): GroupCommit {
  let queue: Queued[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  const counters: GroupCommitStats = { transactions: 0, appends: 0 };

  // Called inside `writeBatch`, better-sqlite3 turns this nested transaction into a SAVEPOINT.
  const appendInSavepoint = db.transaction(appendOne);

  const writeBatch = db.transaction((batch: Queued[]): Outcome[] => {
    const recordedAt = new Date().toISOString();
    return batch.map(({ request }): Outcome => {
      try {
        return { ok: true, result: appendInSavepoint(request, recordedAt) };
      } catch (error) {
        // Some errors (disk full, I/O) make SQLite abandon the whole transaction; carrying on would
        // commit the remaining appends one by one outside the batch, so fail the batch instead.
        if (!db.inTransaction) throw error;
        return { ok: false, error };
      }
    });
  });

  const flush = (): void => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;

    let outcomes: Outcome[];
    try {
      // IMMEDIATE takes the write lock up front, so another process makes us wait (busy_timeout)
      // instead of failing halfway through the batch.
      outcomes = writeBatch.immediate(batch);
    } catch (error) {
      for (const queued of batch) queued.reject(error);
      return;
    }
    counters.transactions++;
    counters.appends += batch.length;
    batch.forEach((queued, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) queued.resolve(outcome.result);
      else queued.reject(outcome.error);
    });
    if (outcomes.some((outcome) => outcome.ok)) onCommitted();
  };

  return {
    append(request) {
      return new Promise((resolve, reject) => {
        queue.push({ request, resolve, reject });
        scheduled ??= setImmediate(flush);
      });
    },
    flush,
    stats: () => ({ ...counters }),
  };
}
