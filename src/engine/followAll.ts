/**
 * Follows `$all` from a position for as long as it runs: a subscription that fails or ends is opened
 * again after a back-off (doubling up to a ceiling), from the last position seen, so a store hiccup
 * never leaves a follower silently behind for the rest of the process's life. The timer follower
 * (timers.ts) and the registries follow `$all` through it.
 */
import { type Logger, silentLogger } from '../log.ts';
import { backoffMs, retryPause } from '../shared/backoff.ts';
import type { AllSubscription, EventStore, RecordedEvent } from '../store/port.ts';

export interface FollowAllOptions {
  store: EventStore;
  /** Position of the last event already seen. */
  after: number;
  onEvent: (recorded: RecordedEvent) => void;
  /** Names the follower in log lines. */
  name: string;
  log?: Logger;
  /** First wait before resubscribing (doubles up to `maxRetryMs`). Default 1000 ms. */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

export interface AllFollower {
  /** Position of the last event seen. */
  position(): number;
  stop(): Promise<void>;
}

export function followAll(options: FollowAllOptions): AllFollower {
  const log = options.log ?? silentLogger;
  const retry = { first: options.firstRetryMs ?? 1000, max: options.maxRetryMs ?? 30_000 };
  let after = options.after;
  let stopped = false;
  let subscription: AllSubscription | undefined;
  const pause = retryPause();

  const running = (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        subscription = options.store.subscribeToAll({ after });
        for await (const recorded of subscription) {
          after = recorded.position;
          failures = 0;
          options.onEvent(recorded);
        }
        if (stopped) return;
        log('warn', `${options.name}: the $all subscription ended, resubscribing`, { after });
      } catch (error) {
        if (stopped) return;
        log('error', `${options.name}: following $all failed, resubscribing`, {
          after,
          failures: failures + 1,
          error: String(error),
        });
      }
      await subscription?.close().catch(() => {});
      await pause.sleep(backoffMs(failures, retry));
      failures++;
    }
  })();

  return {
    position: () => after,
    async stop() {
      stopped = true;
      pause.wake();
      await subscription?.close().catch(() => {});
      await running;
    },
  };
}
