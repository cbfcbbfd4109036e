/**
 * Work that runs until stopped, such as following `$all`: each attempt runs to its own end (a conflict,
 * a subscription that closed) and the next starts at once; an attempt that throws is tried again after
 * the retry back-off, which a good attempt resets. Stopping cuts a back-off short and waits for the
 * attempt under way, which `interrupt` (closing what it waits on) brings to its end.
 */
import { type Backoff, backoffMs, retryPause } from './backoff.ts';

export interface RetryLoopOptions {
  attempt(): Promise<void>;
  backoff: Backoff;
  /** Told of each failed attempt and the wait before the next; not called once stopping. */
  onFailure(error: unknown, delayMs: number): void;
  interrupt?(): Promise<void> | void;
}

export interface RetryLoop {
  /** True until `start()`, and from `stop()` on: an attempt checks it to end its work. */
  readonly stopped: boolean;
  start(): void;
  stop(): Promise<void>;
}

export function retryLoop(options: RetryLoopOptions): RetryLoop {
  let stopped = true;
  let running: Promise<void> | undefined;
  const pause = retryPause();

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      try {
        await options.attempt();
        failures = 0;
      } catch (error) {
        if (stopped) break;
        const delayMs = backoffMs(failures++, options.backoff);
        options.onFailure(error, delayMs);
        await pause.sleep(delayMs);
      }
    }
  }

  return {
    get stopped() {
      return stopped;
    },
    start() {
      if (!stopped) return;
      stopped = false;
      running = run();
    },
    async stop() {
      stopped = true;
      pause.wake();
      await options.interrupt?.();
      await running;
      running = undefined;
    },
  };
}
