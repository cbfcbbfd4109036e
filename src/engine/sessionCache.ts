/**
 * Loaded sessions kept in memory between inputs (an LRU). State is never authoritative here: an entry
 * is only a fold of the stream up to `revision`, and a conflict on append drops it.
 */
import type { SessionState } from '../../machines/session.ts';
import { createLru, type Lru } from '../shared/lru.ts';
import type { SipCommand } from '../shared/messages.ts';

/** How many recent inputs keep the state they were decided on (see `LoadedSession.before`). */
export const RECENT_INPUTS = 16;
/** How many refusals answered without storing are remembered for their retransmissions. */
export const RECENT_REFUSALS = 32;

export interface LoadedSession {
  session: SessionState;
  /** Revision of the stream's last event, or -1 when the stream does not exist yet. */
  revision: number;
  /**
   * Inputs already stored, by input key (see `inputKey`), with the revision of their event: a repeat
   * never becomes a second event, it re-sends what was decided for it.
   */
  seen: Map<string, number>;
  /**
   * The state each of the last RECENT_INPUTS stored inputs was decided on, by the input's revision: a
   * repeated input is decided again from here and its own event, never by folding the stream from the
   * start (a retransmission must cost the same in a stream of 20 events or of 20,000). SIP peers
   * retransmit for 32 s at most (RFC 3261 §17), so a repeat is nearly always of a recent input.
   */
  before: Map<number, SessionState>;
  /**
   * Refusals answered without storing anything (engine.ts: refused REFERs, limits), by input key, with
   * what was sent: a copy of the request delivered again is answered the same way.
   */
  refused: Map<string, SipCommand[]>;
  /**
   * Another writer was seen appending to this stream (another engine taking turns on its partition): the
   * engine then reads the stream before deciding, instead of finding out by a failed append.
   */
  shared?: boolean;
}

/**
 * Adds an entry to a map kept to its newest `bound` entries. The maps of a loaded session are shared
 * between its successive versions and only ever gain facts about the stream, so they are updated in
 * place: copying them per input would cost time that grows with the stream.
 */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, bound: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > bound) map.delete(map.keys().next().value as K);
}

/** The loaded sessions by sid, the least recently used going first when the cache is full. */
export type SessionCache = Lru<LoadedSession>;

export function createSessionCache(capacity: number): SessionCache {
  return createLru<LoadedSession>(capacity);
}
