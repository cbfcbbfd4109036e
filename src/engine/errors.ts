/**
 * Why the engine could not handle an input. `handle` rejects with one of these, so a bus can tell a
 * failure worth retrying (the store is unavailable: deliver the input again later) from one that no
 * retry can fix (the input makes pure code throw: drop it, loudly).
 *
 * Buses read only `permanent` (duck-typed, see `isPermanentFailure` in src/bus/port.ts), so they need not
 * import the engine.
 */
import type { AppendResult, EventStore } from '../store/port.ts';
import { WrongExpectedVersionError } from '../store/port.ts';

/** The store failed (read or append): nothing was decided or the decision was not stored. Retry later. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly permanent = false;
  constructor(operation: string, cause: unknown) {
    super(`event store ${operation} failed: ${String(cause)}`, { cause });
  }
}

/**
 * A poison input: classifying or deciding it (pure, deterministic code) threw, so every retry would throw
 * again. Nothing was stored for it.
 */
export class PoisonInputError extends Error {
  override readonly name = 'PoisonInputError';
  readonly permanent = true;
  constructor(cause: unknown) {
    super(`input cannot be decided: ${String(cause)}`, { cause });
  }
}

/**
 * The store as the engine uses it: every failure of an operation is a StoreUnavailableError, except the
 * expected-revision conflict, which the engine handles itself (reload and decide again).
 */
export function guardStore(store: EventStore): EventStore {
  const guard =
    <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) throw error;
        throw new StoreUnavailableError(operation, error);
      }
    };
  return {
    appendToStream: guard<Parameters<EventStore['appendToStream']>, AppendResult>('append', (...args) =>
      store.appendToStream(...args),
    ),
    readStream: guard('read', (...args: Parameters<EventStore['readStream']>) => store.readStream(...args)),
    readAll: guard('read', (...args: Parameters<EventStore['readAll']>) => store.readAll(...args)),
    headPosition: guard('read', () => store.headPosition()),
    ...(store.countEvents && {
      countEvents: guard('read', (after: number, upTo: number) => store.countEvents!(after, upTo)),
    }),
    subscribeToAll: (options) => store.subscribeToAll(options),
    close: () => store.close(),
  };
}
