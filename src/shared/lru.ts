/**
 * A bounded least-recently-used map: what the adapter remembers about peers it owes nothing to (a
 * source's rate, a refusal already sent) must not grow with the number of peers a flood can invent,
 * and the engine keeps its most recently used sessions loaded.
 */
export interface Lru<V> {
  get(key: string): V | undefined;
  /** Stores the value as the most recent; the least recent entry goes when the map is full. */
  set(key: string, value: V): void;
  delete(key: string): void;
  clear(): void;
  /** The entries, least recently used first; deleting while iterating is allowed. */
  entries(): IterableIterator<[string, V]>;
  readonly size: number;
}

export function createLru<V>(maxEntries: number): Lru<V> {
  const entries = new Map<string, V>();
  return {
    get(key) {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      // A Map iterates in insertion order: re-inserting makes this key the most recent.
      entries.delete(key);
      entries.set(key, value);
      return value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    entries() {
      return entries.entries();
    },
    get size() {
      return entries.size;
    },
  };
}
