/** Waits between retries, so a struggling store, bus or peer is not hammered by the pivot. */
export interface Backoff {
  /** The wait before the first retry, in ms. */
  first: number;
  /** The ceiling the doubling stops at, in ms. */
  max: number;
}

/** The wait before retry number `retry` (0 for the first): `first` doubling each time, up to `max`. */
export function backoffMs(retry: number, { first, max }: Backoff): number {
  return Math.min(max, first * 2 ** Math.max(0, retry));
}

/** The wait between retries of a loop that runs until stopped. */
export interface RetryPause {
  /** Resolves after `ms`, or at once when `wake()` is called meanwhile. */
  sleep(ms: number): Promise<void>;
  /** Ends the current wait: a stopping loop does not sit out its back-off. */
  wake(): void;
}

export function retryPause(): RetryPause {
  let wake: (() => void) | undefined;
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    wake: () => wake?.(),
  };
}
