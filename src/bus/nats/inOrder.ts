/**
 * Runs tasks one after the other per key, and tasks of different keys side by side. A task waits for
 * the previous task of its key to settle (fulfilled or not), so a retried publish or a re-sent command
 * never overtakes a later one of the same call. A key is forgotten once its last task settled.
 */
export function createInOrder(): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const result = (tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.catch(() => {});
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
}
