import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { retryLoop } from '../../src/shared/retryLoop.ts';

describe('retry loop', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tries again after a doubling back-off, which a good attempt resets', async () => {
    // Attempts: fail, fail, succeed, fail, then wait to be stopped.
    const outcomes = ['fail', 'fail', 'ok', 'fail'];
    const waits: number[] = [];
    let attempts = 0;
    let release: (() => void) | undefined;
    const loop = retryLoop({
      attempt: async () => {
        const outcome = outcomes[attempts++];
        if (outcome === 'fail') throw new Error(`attempt ${attempts}`);
        if (outcome === undefined) await new Promise<void>((resolve) => (release = resolve));
      },
      backoff: { first: 100, max: 1_000 },
      onFailure: (_error, delayMs) => waits.push(delayMs),
      interrupt: () => release?.(),
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect([attempts, waits]).toEqual([1, [100]]);
    await vi.advanceTimersByTimeAsync(100);
    expect([attempts, waits]).toEqual([2, [100, 200]]);
    await vi.advanceTimersByTimeAsync(200);
    // The third attempt succeeded and the fourth ran at once; its failure waits the first back-off again.
    expect([attempts, waits]).toEqual([4, [100, 200, 100]]);
    await vi.advanceTimersByTimeAsync(100);
    expect(attempts).toBe(5);
    await loop.stop();
    expect(loop.stopped).toBe(true);
  });

  it('stops during a back-off without waiting it out', async () => {
    let attempts = 0;
    const loop = retryLoop({
      attempt: async () => {
        attempts++;
        throw new Error('down');
      },
      backoff: { first: 60_000, max: 60_000 },
      onFailure: () => {},
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toBe(1);
    const stopped = loop.stop();
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
    expect(attempts).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends the attempt under way through interrupt, and reports no failure once stopping', async () => {
    const failures: unknown[] = [];
    let fail: ((error: Error) => void) | undefined;
    const loop = retryLoop({
      attempt: () => new Promise<void>((_, reject) => (fail = reject)),
      backoff: { first: 100, max: 100 },
      onFailure: (error) => failures.push(error),
      interrupt: () => fail?.(new Error('subscription closed')),
    });
    expect(loop.stopped).toBe(true);
    loop.start();
    expect(loop.stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    await loop.stop();
    expect(failures).toEqual([]);
  });
});
