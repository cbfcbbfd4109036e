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
