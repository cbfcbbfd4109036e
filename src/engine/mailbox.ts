/**
 * Per-session mailboxes: inputs of one session are handled one at a time in arrival order, different
 * sessions run concurrently (their appends meet in the store's group commit). Each knows how many
 * tasks it holds (running or waiting), so the engine can refuse work past a bound instead of queueing
 * without limit.
 */
export interface Mailboxes {
  post<T>(sessionSid: string, task: () => Promise<T>): Promise<T>;
  /** Tasks posted to the session and not finished yet. */
  queued(sessionSid: string): number;
  /** Tasks posted to all sessions and not finished yet. */
  readonly total: number;
  /** Resolves when every task posted so far has finished. */
  drain(): Promise<void>;
}

export function createMailboxes(): Mailboxes {
  const tails = new Map<string, { tail: Promise<unknown>; queued: number }>();
  let total = 0;
  return {
    post(sessionSid, task) {
      const box = tails.get(sessionSid) ?? { tail: Promise.resolve(), queued: 0 };
      const run = box.tail.then(task, task);
      const tail = run.catch(() => {});
      box.tail = tail;
      box.queued++;
      total++;
      tails.set(sessionSid, box);
      void tail.then(() => {
        box.queued--;
        total--;
        // Forget idle mailboxes so the map does not grow with every call ever handled.
        if (box.tail === tail) tails.delete(sessionSid);
      });
      return run;
    },
    queued: (sessionSid) => tails.get(sessionSid)?.queued ?? 0,
    get total() {
      return total;
    },
    async drain() {
      while (tails.size > 0) await Promise.all([...tails.values()].map((box) => box.tail));
    },
  };
}
