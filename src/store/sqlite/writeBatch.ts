import type { Database } from 'better-sqlite3';
import type { AppendOutcome, AppendRequest } from '../groupCommit.ts';
import type { AppendResult } from '../port.ts';

/**
 * Writes a group commit's batch (../groupCommit.ts) in one SQLite transaction, so with
 * `synchronous=FULL` a batch of concurrent calls costs one fsync instead of one per call. Each append
 * runs in its own savepoint, so one append's conflict rolls back only that append.
 */
export function createBatchWriter(
  db: Database,
  appendOne: (request: AppendRequest, recordedAt: string) => AppendResult,
): (batch: AppendRequest[]) => AppendOutcome[] {
  // Called inside `writeBatch`, better-sqlite3 turns this nested transaction into a SAVEPOINT.
  const appendInSavepoint = db.transaction(appendOne);

  const writeBatch = db.transaction((batch: AppendRequest[]): AppendOutcome[] => {
    const recordedAt = new Date().toISOString();
    return batch.map((request): AppendOutcome => {
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

  // IMMEDIATE takes the write lock up front, so another process makes us wait (busy_timeout) instead
  // of failing halfway through the batch.
  return (batch) => writeBatch.immediate(batch);
}
