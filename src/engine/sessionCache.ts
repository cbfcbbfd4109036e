/**
 * Loaded sessions kept in memory between inputs (an LRU). State is never authoritative here: an entry
 * is only a fold of the stream up to `revision`, and a conflict on append drops it.
 */
import type { SessionState } from '../../machines/session.ts';

export interface LoadedSession {
  session: SessionState;
  /** Revision of the stream's last event, or -1 when the stream does not exist yet. */
  revision: number;
  /**
   * Inputs already stored, by input key (see `inputKey`), with the revision of their event: a repeat
   * never becomes a second event, it re-sends what was decided for it.
   */
  seen: Map<string, number>;
}

export interface SessionCache {
  get(sid: string): LoadedSession | undefined;
  set(sid: string, loaded: LoadedSession): void;
  delete(sid: string): void;
  readonly size: number;
}

export function createSessionCache(capacity: number): SessionCache {
  const entries = new Map<string, LoadedSession>();
  return {
    get(sid) {
      const loaded = entries.get(sid);
      if (loaded) {
        entries.delete(sid);
        entries.set(sid, loaded);
      }
      return loaded;
    },
    set(sid, loaded) {
      entries.delete(sid);
      entries.set(sid, loaded);
      if (entries.size > capacity) entries.delete(entries.keys().next().value!);
    },
    delete(sid) {
      entries.delete(sid);
    },
    get size() {
      return entries.size;
    },
  };
}
