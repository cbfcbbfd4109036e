/**
 * What every projection runner (SQLite, PostgreSQL, several combined) reports the same way: callers
 * waiting for a position of `$all`, how long a rebuild took, and each projection's status.
 */
import type { EventStore } from '../src/store/port.ts';
import { lagBehind } from './lag.ts';
import type { ProjectionStatus, RebuildResult } from './runner.ts';

export interface PositionWaiters {
  /** Resolves once `reached()` is at `position` or past it; rejects after `timeoutMs`. */
  waitFor(position: number, timeoutMs?: number): Promise<void>;
  /** Wakes the callers whose position a committed batch reached. */
  notify(): void;
}

/** `reached` is the lowest checkpoint of the runner's projections; `who` names them in the timeout. */
export function positionWaiters(reached: () => number, who: string): PositionWaiters {
  const waiters = new Set<{ position: number; resolve: () => void }>();
  return {
    waitFor(position, timeoutMs = 10_000) {
      if (reached() >= position) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          position,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${who} did not reach position ${position} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    notify() {
      const position = reached();
      for (const waiter of waiters) {
        if (position >= waiter.position) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    },
  };
}

/** Runs a rebuild's fold of `$all` (`fold` resolves with the events it read) and reports its pace. */
export async function timedRebuild(
  projections: string[],
  fold: () => Promise<number>,
): Promise<RebuildResult> {
  const started = performance.now();
  const events = await fold();
  const seconds = (performance.now() - started) / 1000;
  return { projections, events, seconds, eventsPerSecond: seconds > 0 ? events / seconds : events };
}

/** Each projection's checkpoint and lag behind `$all`'s head; `checkpointOf` reads its stored checkpoint. */
export async function statusOf(
  store: EventStore,
  projections: readonly { name: string; version: number }[],
  checkpointOf: (name: string) => { position: number; updatedAt?: string } | undefined,
): Promise<ProjectionStatus[]> {
  const head = await store.headPosition();
  return Promise.all(
    projections.map(async ({ name, version }) => {
      const stored = checkpointOf(name);
      const position = stored?.position ?? 0;
      const lag = await lagBehind(store, position, head);
      return {
        name,
        version,
        position,
        lag: lag.events,
        lagSeconds: lag.seconds,
        updatedAt: stored?.updatedAt,
      };
    }),
  );
}
