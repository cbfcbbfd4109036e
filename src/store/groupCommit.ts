import type { AppendResult, EventData, ExpectedRevision } from './port.ts';

/**
 * Group commit, shared by the SQL backends: appends requested while a batch is being written (or in the
 * same tick as the first one) travel together as the next batch, one transaction and one durable flush
 * for all of them. A single writer sees no added delay beyond a tick. How a batch is written, and how
 * many may be written at once, is the backend's business (`write`, `maxInFlight`).
 */

export interface AppendRequest {
  stream: string;
  events: EventData[];
  expectedRevision: ExpectedRevision;
}

/** What became of one append of a batch: its result, or the error to give its caller. */
export type AppendOutcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

export interface GroupCommitStats {
  /** Committed write transactions (one per batch). */
  transactions: number;
  /** Appends that took part in a committed transaction, succeeded or refused. */
  appends: number;
}

export interface GroupCommitOptions {
  /**
   * Writes a batch in one transaction and answers each append, in order. Throwing (or rejecting) means
   * the transaction as a whole failed.
   */
  write(batch: AppendRequest[]): AppendOutcome[] | Promise<AppendOutcome[]>;
  /**
   * When a whole batch fails: `retry-alone` writes each append on its own, so one append the database
   * refuses does not fail its neighbours (safe even if the batch did commit: a re-sent append is
   * recognised by its event ids); `fail-all` gives every append the error (for failures such as a full
   * disk, where trying again at once only fails again).
   */
  onBatchError: 'retry-alone' | 'fail-all';
  /** Batches being written at the same time. Default 1. */
  maxInFlight?: number;
  /** Upper bound on the events of one batch, to keep statements a sensible size. Default 2000. */
  maxEvents?: number;
  /** Called after a transaction that wrote at least one event is committed. */
  onCommitted?(): void;
}

export interface GroupCommit {
  append(request: AppendRequest): Promise<AppendResult>;
  /** Resolves once every append requested so far has its outcome; close() waits for it. */
  drained(): Promise<void>;
  stats(): GroupCommitStats;
}

interface Queued {
  request: AppendRequest;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export function createGroupCommit(options: GroupCommitOptions): GroupCommit {
  const { write, onBatchError, onCommitted } = options;
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  const maxEvents = options.maxEvents ?? 2000;
  const counters: GroupCommitStats = { transactions: 0, appends: 0 };
  let queue: Queued[] = [];
  let inFlight = 0;
  let scheduled = false;
  const idle = new Set<() => void>();

  const takeBatch = (): Queued[] => {
    let events = 0;
    let count = 0;
    // At least one append, however large; then as many as fit.
    while (
      count < queue.length &&
      (count === 0 || events + queue[count]!.request.events.length <= maxEvents)
    ) {
      events += queue[count]!.request.events.length;
      count++;
    }
    const batch = queue.slice(0, count);
    queue = queue.slice(count);
    return batch;
  };

  async function commit(batch: Queued[]): Promise<void> {
    let outcomes: AppendOutcome[];
    try {
      outcomes = await write(batch.map((queued) => queued.request));
      if (outcomes.length !== batch.length) {
        throw new Error(`a batch of ${batch.length} appends got ${outcomes.length} answers`);
      }
    } catch (error) {
      if (onBatchError === 'fail-all' || batch.length === 1) {
        for (const queued of batch) queued.reject(error);
        return;
      }
      for (const queued of batch) await commit([queued]);
      return;
    }
    counters.transactions++;
    counters.appends += batch.length;
    outcomes.forEach((outcome, index) => {
      const queued = batch[index]!;
      if (outcome.ok) queued.resolve(outcome.result);
      else queued.reject(outcome.error);
    });
    if (outcomes.some((outcome) => outcome.ok)) onCommitted?.();
  }

  function pump(): void {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      inFlight++;
      void commit(takeBatch()).finally(() => {
        inFlight--;
        if (queue.length > 0) schedule();
        else if (inFlight === 0) for (const wake of idle) wake();
      });
    }
  }

  // A tick's wait lets appends requested together leave together.
  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight) return;
    scheduled = true;
    setImmediate(pump);
  }

  return {
    append(request) {
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        schedule();
      });
    },
    async drained() {
      while (inFlight > 0 || queue.length > 0) {
        if (inFlight === 0) schedule();
        await new Promise<void>((resolve) => {
          const wake = () => {
            idle.delete(wake);
            resolve();
          };
          idle.add(wake);
        });
      }
    },
    stats: () => ({ ...counters }),
  };
}
