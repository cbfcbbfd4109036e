import type { AppendResult } from '../port.ts';
import type { AppendOutcome, AppendRequest } from './appendBatch.ts';

/**
 * Group commit: appends requested while a batch is on its way to the database (or in the same tick as
 * the first one) travel together as the next batch, one statement and one commit. Every append holds
 * the store-wide append lock until its commit (createPostgresEventStore.ts), so one process gains
 * nothing from several batches in flight; what it gains is that concurrent calls share one WAL flush
 * instead of queueing on the lock for one flush each. A single writer sees no added delay beyond a tick.
 */
export interface GroupCommit {
  append(request: AppendRequest): Promise<AppendResult>;
  /** Resolves once every append requested so far has its outcome; close() waits for it. */
  drained(): Promise<void>;
}

export interface GroupCommitOptions {
  send(requests: AppendRequest[]): Promise<AppendOutcome[]>;
  /** Upper bound on the events of one batch, to keep statements a sensible size. Default 2000. */
  maxEvents?: number;
}

interface Queued {
  request: AppendRequest;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export function createGroupCommit({ send, maxEvents = 2000 }: GroupCommitOptions): GroupCommit {
  let queue: Queued[] = [];
  let running: Promise<void> | undefined;

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
      outcomes = await send(batch.map((queued) => queued.request));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad append (say, data PostgreSQL refuses) must not fail its neighbours: send each alone.
      // Safe even if the batch did commit: a re-sent append is recognised by its event ids.
      for (const queued of batch) await commit([queued]);
      return;
    }
    outcomes.forEach((outcome, index) => {
      const queued = batch[index]!;
      if (outcome.ok) queued.resolve(outcome.result);
      else queued.reject(outcome.error);
    });
  }

  async function run(): Promise<void> {
    try {
      while (queue.length > 0) await commit(takeBatch());
    } finally {
      running = undefined;
    }
  }

  return {
    append(request) {
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        if (running) return;
        // Wait a tick so appends requested together leave together.
        running = new Promise((started) => setImmediate(started)).then(run);
      });
    },
    async drained() {
      while (running) await running;
    },
  };
}
