/**
 * Runs projections over `$all`. Each projection has a checkpoint (the position of the last event it
 * folded) in the same SQLite database as its tables; every batch of events is applied and the
 * checkpoints advanced in one transaction, so a crash or restart never double-counts or skips.
 *
 * Concurrency is optimistic: a batch is applied only if the stored checkpoints are still the ones the
 * runner started the batch from. If another runner (a second process, or `pivot projections rebuild`
 * while the service runs) moved them, the batch is abandoned and the runner resumes from the stored
 * checkpoints. Two runners on one views database are therefore safe, just wasteful.
 */
import type { Database } from 'better-sqlite3';
import { type Catalogue, catalogue as pivotCatalogue } from '../src/events/catalogue.ts';
import { type Logger, silentLogger } from '../src/log.ts';
import { retryLoop } from '../src/shared/retryLoop.ts';
import type { AllSubscription, EventStore, RecordedEvent } from '../src/store/port.ts';
import { type ProjectedEvent, type Projection, sessionSidOf } from './api.ts';
import { positionWaiters, statusOf, timedRebuild } from './progress.ts';

export interface ProjectionStatus {
  name: string;
  version: number;
  /** Position of the last event folded in. */
  position: number;
  /** Events stored after `position` (counted, whatever the backend's positions measure). */
  lag: number;
  /** Age in seconds of the oldest event not folded yet; 0 when the projection is current. */
  lagSeconds: number;
  updatedAt: string | undefined;
}

export interface RebuildResult {
  projections: string[];
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

/** What a runner tells about each projection it runs. */
export interface RunnerProjection {
  name: string;
  version: number;
  tables: string[];
}

export interface ProjectionRunner {
  readonly projections: readonly RunnerProjection[];
  /** Applies everything stored right now; resolves with the number of events read. */
  catchUp(): Promise<number>;
  /** Follows `$all` live until `stop()`. */
  start(): void;
  stop(): Promise<void>;
  /** Empties the named projections (all when none named) and folds every event again from position 0. */
  rebuild(names?: string[]): Promise<RebuildResult>;
  status(): Promise<ProjectionStatus[]>;
  /** Resolves once every projection has folded the event at `position`. */
  waitFor(position: number, timeoutMs?: number): Promise<void>;
  /** The last error that stopped a batch, while it keeps failing; cleared by the next good batch. */
  lastError(): string | undefined;
  stats(): RunnerStats;
}

export interface RunnerStats {
  /** Committed batches and the events they held. */
  batches: number;
  events: number;
  /** Batches abandoned because another runner moved a checkpoint first. */
  conflicts: number;
  /** Batches that failed (rolled back) with an error. */
  failures: number;
}

export interface ProjectionRunnerOptions {
  store: EventStore;
  db: Database;
  projections: Projection[];
  log?: Logger;
  /** Events per transaction. Default 1000. */
  batchSize?: number;
  /** First retry delay after a failed batch (doubles up to 30 s). Default 1000 ms. */
  retryDelayMs?: number;
  /** Event versions and upcasters. Default: the pivot's (src/events/catalogue.ts). */
  catalogue?: Catalogue;
  /** Called after each committed batch with its last position (e.g. to send what it queued). */
  onCommit?: (position: number) => void;
}

const CHECKPOINTS = `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  name       TEXT    PRIMARY KEY,
  version    INTEGER NOT NULL,
  position   INTEGER NOT NULL,
  updated_at TEXT    NOT NULL
);`;

/** Thrown inside a batch transaction to roll it back when another runner moved a checkpoint. */
class CheckpointMoved extends Error {}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createProjectionRunner(options: ProjectionRunnerOptions): ProjectionRunner {
  const { store, db, projections } = options;
  const log = options.log ?? silentLogger;
  const batchSize = options.batchSize ?? 1000;
  const catalogue = options.catalogue ?? pivotCatalogue;
  const names = new Set(projections.map((p) => p.name));
  if (names.size !== projections.length) throw new Error('projection names must be unique');
  // A rebuild drops a projection's tables: two owners of one table would empty each other.
  const owners = new Map<string, string>();
  for (const projection of projections) {
    for (const table of projection.tables) {
      const owner = owners.get(table.toLowerCase());
      if (owner) throw new Error(`table ${table} belongs to both ${owner} and ${projection.name}`);
      owners.set(table.toLowerCase(), projection.name);
    }
  }

  db.exec(CHECKPOINTS);
  const selectCheckpoint = db.prepare<[string], { version: number; position: number; updated_at: string }>(
    'SELECT version, position, updated_at FROM projection_checkpoints WHERE name = ?',
  );
  const upsertCheckpoint = db.prepare<[string, number, number, string]>(
    `INSERT INTO projection_checkpoints (name, version, position, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position,
       updated_at = excluded.updated_at`,
  );

  const reset = (projection: Projection) => {
    for (const table of projection.tables) db.exec(`DROP TABLE IF EXISTS "${table}"`);
    db.exec(projection.schema);
    upsertCheckpoint.run(projection.name, projection.version, 0, new Date().toISOString());
  };

  // Create what is missing; a projection stored at another version starts again from 0.
  db.transaction(() => {
    for (const projection of projections) {
      const stored = selectCheckpoint.get(projection.name);
      if (!stored || stored.version !== projection.version) {
        if (stored) log('info', 'projection version changed, rebuilding', { projection: projection.name });
        reset(projection);
      } else {
        db.exec(projection.schema);
      }
    }
  }).immediate();

  const storedPositions = (): Map<string, number> =>
    new Map(projections.map((p) => [p.name, selectCheckpoint.get(p.name)?.position ?? 0]));

  let positions = storedPositions();
  const lowest = () => Math.min(...positions.values());
  const waiters = positionWaiters(lowest, 'projections');

  /**
   * One transaction: check that nobody moved the checkpoints since `expected`, fold the events into
   * every projection that has not seen them, advance the checkpoints. Returns false on a conflict.
   */
  const applyInTransaction = db.transaction((events: RecordedEvent[], expected: Map<string, number>) => {
    for (const projection of projections) {
      const stored = selectCheckpoint.get(projection.name)?.position ?? 0;
      if (stored !== expected.get(projection.name)) throw new CheckpointMoved();
    }
    const behind = projections.map((p) => expected.get(p.name)!);
    for (const recorded of events) {
      let event: ProjectedEvent | undefined;
      for (let i = 0; i < projections.length; i++) {
        const projection = projections[i]!;
        if (recorded.position <= behind[i]!) continue;
        if (projection.types && !projection.types.has(recorded.type)) continue;
        // Upcast once per event, whichever projections read it.
        event ??= { ...catalogue.upcast(recorded), sessionSid: sessionSidOf(recorded) };
        projection.apply(db, event);
      }
    }
    const last = events.at(-1)!.position;
    const now = new Date().toISOString();
    for (const projection of projections) {
      if (last > expected.get(projection.name)!) {
        upsertCheckpoint.run(projection.name, projection.version, last, now);
      }
    }
  });

  let error: string | undefined;
  const counters: RunnerStats = { batches: 0, events: 0, conflicts: 0, failures: 0 };

  /** Applies a batch; false when another runner moved the checkpoints (positions are then reloaded). */
  function applyBatch(events: RecordedEvent[]): boolean {
    if (events.length === 0) return true;
    try {
      applyInTransaction.immediate(events, positions);
    } catch (thrown) {
      positions = storedPositions();
      if (thrown instanceof CheckpointMoved) {
        counters.conflicts++;
        return false;
      }
      counters.failures++;
      error = `${(thrown as Error).message} (batch ending at position ${events.at(-1)!.position})`;
      throw thrown;
    }
    error = undefined;
    counters.batches++;
    counters.events += events.length;
    const last = events.at(-1)!.position;
    for (const [name, position] of positions) positions.set(name, Math.max(position, last));
    waiters.notify();
    options.onCommit?.(last);
    return true;
  }

  async function catchUp(): Promise<number> {
    positions = storedPositions();
    let read = 0;
    for (;;) {
      const page = await store.readAll({ after: lowest(), maxCount: batchSize });
      if (page.length === 0) return read;
      read += page.length;
      applyBatch(page);
      // Let the SIP adapter and the API breathe between batches of a long catch-up.
      await nextTurn();
    }
  }

  let subscription: AllSubscription | undefined;
  const following = retryLoop({
    attempt: followOnce,
    backoff: { first: options.retryDelayMs ?? 1000, max: 30_000 },
    onFailure: (thrown, delayMs) =>
      log('error', 'projection batch failed, retrying', { error: error ?? String(thrown), delayMs }),
    interrupt: () => subscription?.close(),
  });

  /** One subscription's life: from the stored checkpoints until stop, a conflict or an error. */
  async function followOnce(): Promise<void> {
    positions = storedPositions();
    const live = store.subscribeToAll({ after: lowest() });
    subscription = live;
    const events = live[Symbol.asyncIterator]();
    const TICK = Symbol('tick');
    let batch: RecordedEvent[] = [];
    let tick: Promise<typeof TICK> | undefined;
    let pending = events.next();
    const flush = () => {
      const ok = applyBatch(batch);
      batch = [];
      tick = undefined;
      return ok;
    };
    try {
      while (!following.stopped) {
        // Batch whatever is already readable; flush as soon as the subscription would wait.
        tick ??= batch.length > 0 ? nextTurn().then(() => TICK) : undefined;
        const next = tick ? await Promise.race([pending, tick]) : await pending;
        if (next === TICK) {
          if (!flush()) return;
          continue;
        }
        if (next.done) break;
        batch.push(next.value);
        pending = events.next();
        if (batch.length >= batchSize) {
          if (!flush()) return;
          await nextTurn();
        }
      }
      if (!following.stopped) flush();
    } finally {
      await live.close();
    }
  }

  return {
    projections,
    catchUp,

    start: following.start,
    stop: following.stop,

    async rebuild(selected) {
      const chosen = selected && selected.length > 0 ? selected : projections.map((p) => p.name);
      for (const name of chosen) {
        if (!names.has(name)) throw new Error(`no projection named ${name} (have: ${[...names].join(', ')})`);
      }
      db.transaction(() => {
        for (const projection of projections) if (chosen.includes(projection.name)) reset(projection);
      }).immediate();
      positions = storedPositions();
      return timedRebuild(chosen, catchUp);
    },

    status() {
      return statusOf(store, projections, (name) => {
        const stored = selectCheckpoint.get(name);
        return stored && { position: stored.position, updatedAt: stored.updated_at };
      });
    },

    waitFor: waiters.waitFor,

    lastError: () => error,
    stats: () => ({ ...counters }),
  };
}
