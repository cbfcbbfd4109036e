/**
 * Per-session mailboxes: inputs of one session are handled one at a time in arrival order, different
 * sessions run concurrently (their appends meet in the store's group commit).
 */
export interface Mailboxes {
  post<T>(sessionSid: string, task: () => Promise<T>): Promise<T>;
  /** Resolves when every task posted so far has finished. */
  drain(): Promise<void>;
}

export function createMailboxes(): Mailboxes {
  const tails = new Map<string, Promise<unknown>>();
  return {
    post(sessionSid, task) {
      const previous = tails.get(sessionSid) ?? Promise.resolve();
      const run = previous.then(task, task);
      const tail = run.catch(() => {});
      tails.set(sessionSid, tail);
      // Forget idle mailboxes so the map does not grow with every call ever handled.
      void tail.then(() => {
        if (tails.get(sessionSid) === tail) tails.delete(sessionSid);
      });
      return run;
    },
    async drain() {
      while (tails.size > 0) await Promise.all([...tails.values()]);
    },
  };
}
