import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffMs, retryPause } from '../../src/shared/backoff.ts';

describe('retry back-off', () => {
  it('doubles from the first wait up to the ceiling', () => {
    const waits = [0, 1, 2, 3, 4, 5].map((retry) => backoffMs(retry, { first: 250, max: 5_000 }));
    expect(waits).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000]);
  });

  it('treats a negative retry number as the first', () => {
    expect(backoffMs(-1, { first: 1_000, max: 30_000 })).toBe(1_000);
  });
});

describe('retry pause', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const settled = (promise: Promise<void>) => {
    const state = { done: false };
    void promise.then(() => {
      state.done = true;
    });
    return state;
  };

  it('waits the whole back-off when nobody wakes it', async () => {
    const sleeping = settled(retryPause().sleep(1_000));
    await vi.advanceTimersByTimeAsync(999);
    expect(sleeping.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(sleeping.done).toBe(true);
  });

  it('ends at once when woken, without the clock moving', async () => {
    const pause = retryPause();
    const sleeping = settled(pause.sleep(60_000));
    await vi.advanceTimersByTimeAsync(0);
    expect(sleeping.done).toBe(false);
    pause.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(sleeping.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a wake with no wait in progress is harmless', async () => {
    const pause = retryPause();
    pause.wake();
    const sleeping = settled(pause.sleep(10));
    await vi.advanceTimersByTimeAsync(0);
    expect(sleeping.done).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(sleeping.done).toBe(true);
  });
});
