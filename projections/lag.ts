/**
 * How far a projection is behind `$all`, in the same units on every backend: a difference of positions
 * is an event count on SQLite and in memory, but not on PostgreSQL (its sequence skips rolled-back
 * values) nor on EventStoreDB (positions are byte offsets in its log).
 */
import { type EventStore, eventsBetween } from '../src/store/port.ts';

export interface Lag {
  /** Events stored after the checkpoint. */
  events: number;
  /** Age of the oldest event not folded yet; 0 when none waits. */
  seconds: number;
}

export async function lagBehind(
  store: EventStore,
  checkpoint: number,
  head: number,
  now = Date.now(),
): Promise<Lag> {
  const events = await eventsBetween(store, checkpoint, head);
  if (events === 0) return { events: 0, seconds: 0 };
  const [oldest] = await store.readAll({ after: checkpoint, maxCount: 1 });
  const seconds = oldest ? Math.max(0, (now - Date.parse(oldest.recordedAt)) / 1000) : 0;
  return { events, seconds };
}
