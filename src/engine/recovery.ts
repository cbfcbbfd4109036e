/**
 * Crash recovery: the engine persists, then acts. An engine that dies between the two leaves a stored
 * input whose commands never went out. A peer that retransmits heals this on its own (the repeat is
 * recognised and its decision re-sent), but some inputs have no retransmission left to come: an INVITE
 * the adapter answered 100 Trying once it was durable (RFC 3261 §17.1.1.2: the caller stops
 * retransmitting on a provisional response), a response the adapter absorbed. Such a call would wait
 * forever.
 *
 * So at start-up the engine re-drives every session whose last stored input may not have been acted
 * on: it decides that input again and re-sends its commands. Commands carry the identifiers stored in
 * the events (branches, tags, CSeqs), so one that did go out arrives again as a retransmission, which
 * the adapter and the peer absorb.
 *
 * Finding them cheaply: only inputs stored within the last `windowMs` can still matter (after that the
 * adapter has dropped the caller's INVITE transaction, and the reapers, durable timers, end calls that
 * nothing will finish). The store's positions grow with time, so a binary search over positions finds
 * the first event recorded within the window in O(log n) one-event reads, and only the tail after it is
 * read. Sessions whose last input there is a TimerFired are left to the timer scheduler (timers.ts),
 * which re-sends those after a restart or a takeover already.
 */
import type { EventStore, RecordedEvent } from '../store/port.ts';
import { isInput } from './timers.ts';

/**
 * The adapter keeps a ringing INVITE's server transaction for 5 minutes: a decision older than that
 * can no longer reach the caller through it.
 */
export const REDRIVE_WINDOW_MS = 5 * 60_000;

export interface Unsettled {
  sessionSid: string;
  /** Revision of the session's last stored input. */
  revision: number;
  type: string;
}

/**
 * The position after which every event was recorded at `since` or later (by the store's clock), found
 * by binary search: each probe reads one event.
 */
export async function positionBefore(store: EventStore, since: number): Promise<number> {
  let low = 0; // every event at or before `low` is older than `since`
  let high = await store.headPosition(); // the first event after `high`, if any, is not older
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const [next] = await store.readAll({ after: middle, maxCount: 1 });
    if (!next || Date.parse(next.recordedAt) >= since) high = middle;
    else low = next.position;
  }
  return low;
}

const sessionOfStream = (recorded: RecordedEvent) =>
  recorded.streamName.startsWith('call-') ? recorded.streamName.slice('call-'.length) : undefined;

/**
 * Sessions whose last input was stored within the window, with that input's revision: the candidates
 * for a re-drive. Whether its commands went out cannot be known from the store; re-sending is safe.
 */
export async function unsettledSessions(
  store: EventStore,
  options: { now: number; windowMs?: number; pageSize?: number },
): Promise<Unsettled[]> {
  const after = await positionBefore(store, options.now - (options.windowMs ?? REDRIVE_WINDOW_MS));
  const last = new Map<string, Unsettled>();
  for (let position = after; ; ) {
    const page = await store.readAll({ after: position, maxCount: options.pageSize ?? 1000 });
    if (page.length === 0) break;
    for (const recorded of page) {
      position = recorded.position;
      const sessionSid = sessionOfStream(recorded);
      if (!sessionSid || !isInput(recorded)) continue;
      last.set(sessionSid, { sessionSid, revision: recorded.revision, type: recorded.type });
    }
  }
  return [...last.values()].filter((entry) => entry.type !== 'TimerFired');
}
