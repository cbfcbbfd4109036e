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
/**
 * How long a session stays whole in the cache after its last input. Past it no copy of the inputs it
 * stored is still on its way: a request is retransmitted for 64*T1 = 32 s at most (RFC 3261 §17.1.1.2,
 * §17.1.2.2), and so is a 2xx to an INVITE (§13.3.1.4); twice that leaves room for a late delivery.
 */
export const IDLE_AFTER_MS = 64_000;

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
  /** When the engine last stored (or refused) an input for the session: `compact` reads it. */
  usedAt?: number;
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
export interface SessionCache extends Lru<LoadedSession> {
  /**
   * Lightens the sessions that had no input for IDLE_AFTER_MS: an established call can stay up for hours
   * without one, and each cached session kept the states of its last inputs, each with the SIP messages
   * decided from it. Those states only serve repeats, which have stopped by then (a repeat that still
   * comes is folded from the stream, see `foldedUpTo`); a session whose calls and transfers all ended
   * leaves the cache (an input for it reads its stream again). Nothing else changes: what a cached
   * session decides is what a session read from its stream decides.
   */
  compact(now: number): { lightened: number; dropped: number };
}

export function createSessionCache(capacity: number): SessionCache {
  const lru = createLru<LoadedSession>(capacity);
  return Object.assign(lru, {
    compact(now: number) {
      let lightened = 0;
      let dropped = 0;
      // The whole cache: its order is that of reads, which an answer that stores nothing also makes.
      for (const [sid, loaded] of lru.entries()) {
        if (loaded.usedAt === undefined || now - loaded.usedAt < IDLE_AFTER_MS) continue;
        if (ended(loaded.session)) {
          lru.delete(sid);
          dropped++;
        } else if (loaded.before.size > 0) {
          loaded.before.clear();
          lightened++;
        }
      }
      return { lightened, dropped };
    },
  });
}

function ended(session: SessionState): boolean {
  const calls = Object.values(session.calls);
  return (
    calls.length > 0 &&
    calls.every((call) => call.status === 'done') &&
    Object.values(session.transfers).every((transfer) => transfer.status === 'done')
  );
}
