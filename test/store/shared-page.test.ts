import { describe, expect, it } from 'vitest';
import { createAppendNotifier, sharedPageReader } from '../../src/store/catchUpSubscription.ts';
import type { RecordedEvent } from '../../src/store/port.ts';

const event = (position: number): RecordedEvent => ({
  id: `e${position}`,
  type: 'Something',
  data: {},
  metadata: {},
  streamName: 's',
  revision: position - 1,
  position,
  recordedAt: '2025-01-01T00:00:00.000Z',
});

/** A log of `head` events whose page reads are counted. */
function countedLog() {
  const log = { head: 0, reads: 0 };
  const read = (after: number, maxCount: number) => {
    log.reads++;
    const page: RecordedEvent[] = [];
    for (let p = after + 1; p <= Math.min(log.head, after + maxCount); p++) page.push(event(p));
    return page;
  };
  return { log, read };
}

describe('subscriptions at the head share a page read', () => {
  it('reads the page once for every subscription woken by the same append', () => {
    const notifier = createAppendNotifier();
    const { log, read } = countedLog();
    const page = sharedPageReader(read, notifier);
    log.head = 3;
    notifier.notify();
    const seen = [page(0, 500), page(0, 500), page(0, 500)];
    expect(seen.map((p) => p.map((e) => e.position))).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(log.reads).toBe(1);
  });

  it('reads again after the next append is announced, so no one sleeps on a stale page', () => {
    const notifier = createAppendNotifier();
    const { log, read } = countedLog();
    const page = sharedPageReader(read, notifier);
    log.head = 2;
    notifier.notify();
    expect(page(0, 500)).toHaveLength(2);
    log.head = 4;
    notifier.notify();
    expect(page(0, 500).map((e) => e.position)).toEqual([1, 2, 3, 4]);
    expect(log.reads).toBe(2);
  });

  it('reads again in a later turn, so appends by another process are seen when polled', async () => {
    const notifier = createAppendNotifier();
    const { log, read } = countedLog();
    const page = sharedPageReader(read, notifier);
    expect(page(0, 500)).toEqual([]);
    log.head = 1;
    await new Promise((resolve) => setImmediate(resolve));
    expect(page(0, 500).map((e) => e.position)).toEqual([1]);
    expect(log.reads).toBe(2);
  });

  it('reads again for another checkpoint or page size', () => {
    const notifier = createAppendNotifier();
    const { log, read } = countedLog();
    const page = sharedPageReader(read, notifier);
    log.head = 5;
    expect(page(0, 500)).toHaveLength(5);
    expect(page(2, 500).map((e) => e.position)).toEqual([3, 4, 5]);
    expect(page(2, 1).map((e) => e.position)).toEqual([3]);
    expect(log.reads).toBe(3);
  });
});
