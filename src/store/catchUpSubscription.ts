import type { AllSubscription, RecordedEvent } from './port.ts';

/**
 * Live delivery shared by the in-process backends: a catch-up subscription reads `$all` in pages from
 * its checkpoint, then sleeps until an append wakes it (or a poll interval passes, for writers the
 * notifier cannot hear, such as another process on the same SQLite file).
 */

/** Tells live subscriptions of one store instance that new events are readable. */
export interface AppendNotifier {
  /** Call after an append is committed and readable. */
  notify(): void;
  /** Returns a function that stops listening. */
  listen(wake: () => void): () => void;
}

export function createAppendNotifier(): AppendNotifier {
  const listeners = new Set<() => void>();
  return {
    notify() {
      for (const wake of listeners) wake();
    },
    listen(wake) {
      listeners.add(wake);
      return () => listeners.delete(wake);
    },
  };
}

export interface CatchUpSubscriptionOptions {
  /** Deliver events whose position is strictly greater than this. */
  after: number;
  /** Events with position > `after`, in position order, at most `maxCount`. */
  readPage(after: number, maxCount: number): Promise<RecordedEvent[]>;
  notifier: AppendNotifier;
  /** Re-read at least this often while idle; omit when every writer goes through `notifier`. */
  pollIntervalMs?: number;
  pageSize?: number;
  /** Called once, when the subscription ends for any reason (close, break, error). */
  onClose?: () => void;
}

export function createCatchUpSubscription(options: CatchUpSubscriptionOptions): AllSubscription {
  const { readPage, notifier, pollIntervalMs, pageSize = 500, onClose } = options;
  let checkpoint = options.after;
  let closed = false;
  // Counts wake-ups so an append that lands while a page is being read is not slept through.
  let wakeCount = 0;
  let stopWaiting: (() => void) | undefined;

  const stopListening = notifier.listen(() => {
    wakeCount++;
    stopWaiting?.();
  });

  const waitForAppends = (wakeCountBeforeRead: number): Promise<void> =>
    new Promise((resolve) => {
      if (closed || wakeCount !== wakeCountBeforeRead) return resolve();
      const timer = pollIntervalMs === undefined ? undefined : setTimeout(finish, pollIntervalMs);
      function finish() {
        clearTimeout(timer);
        stopWaiting = undefined;
        resolve();
      }
      stopWaiting = finish;
    });

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopListening();
    stopWaiting?.();
    onClose?.();
  };

  async function* deliver(): AsyncGenerator<RecordedEvent> {
    try {
      while (!closed) {
        const wakeCountBeforeRead = wakeCount;
        const page = await readPage(checkpoint, pageSize);
        for (const event of page) {
          if (closed) return;
          // A backend that hands back an event twice must not make us deliver it twice.
          if (event.position <= checkpoint) continue;
          checkpoint = event.position;
          yield event;
        }
        if (page.length < pageSize) await waitForAppends(wakeCountBeforeRead);
      }
    } finally {
      await close();
    }
  }

  const events = deliver();
  return {
    [Symbol.asyncIterator]: () => events,
    close,
  };
}

/**
 * Lets the live subscriptions of one store share a page read. Subscriptions at the head (the timer
 * follower, the registries, the projections) are woken by the same append and each asks for the page
 * after the same checkpoint: without sharing, every event would be read and decoded once per
 * subscription. A page is handed out again only for the same request, within the turn of the event
 * loop it was read in, and only until the next append is announced: a subscription never sleeps on a
 * page older than the append that woke it, nor on one read before another process's appends.
 */
export function sharedPageReader(
  readPage: (after: number, maxCount: number) => RecordedEvent[],
  notifier: AppendNotifier,
): (after: number, maxCount: number) => RecordedEvent[] {
  let last: { after: number; maxCount: number; page: RecordedEvent[] } | undefined;
  notifier.listen(() => {
    last = undefined;
  });
  return (after, maxCount) => {
    if (last && last.after === after && last.maxCount === maxCount) return last.page;
    const page = readPage(after, maxCount);
    const read = { after, maxCount, page };
    last = read;
    setImmediate(() => {
      if (last === read) last = undefined;
    });
    return page;
  };
}
