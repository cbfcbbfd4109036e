/**
 * Tasks run one at a time per key, in the order posted; tasks of different keys run side by side. A
 * task waits for the previous task of its key to settle (fulfilled or not). The engine keeps a
 * session's inputs in order with it (different sessions meet in the store's group commit); the bus
 * keeps a retried publish or a re-sent command from overtaking a later one of the same call. Each key
 * knows how many tasks it holds (running or waiting), so the engine can refuse work past a bound
 * instead of queueing without limit; a key is forgotten once its last task settled.
 */
export interface SerialQueues {
  post<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Tasks posted under the key and not finished yet. */
  queued(key: string): number;
  /** Tasks posted under all keys and not finished yet. */
  readonly total: number;
  /** Resolves when every task posted so far has finished. */
  drain(): Promise<void>;
}

export function createSerialQueues(): SerialQueues {
  const tails = new Map<string, { tail: Promise<unknown>; queued: number }>();
  let total = 0;
  return {
    post(key, task) {
      const box = tails.get(key) ?? { tail: Promise.resolve(), queued: 0 };
      const run = box.tail.then(task, task);
      const tail = run.catch(() => {});
      box.tail = tail;
      box.queued++;
      total++;
      tails.set(key, box);
      void tail.then(() => {
        box.queued--;
        total--;
        // Forget idle keys so the map does not grow with every call ever handled.
        if (box.tail === tail) tails.delete(key);
      });
      return run;
    },
    queued: (key) => tails.get(key)?.queued ?? 0,
    get total() {
      return total;
    },
    async drain() {
      while (tails.size > 0) await Promise.all([...tails.values()].map((box) => box.tail));
    },
  };
}
