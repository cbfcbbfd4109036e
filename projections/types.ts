/**
 * What a projection is: a name, the SQL of the tables it owns, and a synchronous `apply` that folds one
 * recorded event into them. The runner calls `apply` inside the SQLite transaction that also advances
 * the projection's checkpoint, so a projection never sees an event twice and never misses one.
 * Projections must only read and write their own tables, so each can be rebuilt on its own.
 */
import type { Database } from 'better-sqlite3';
import type { SessionEvent, SessionEventType } from '../machines/events.ts';
import type { RecordedEvent } from '../src/store/port.ts';

export interface Projection {
  name: string;
  /** Bump when `schema` or `apply` changes meaning: a stored read model of another version is rebuilt. */
  version: number;
  /** Tables this projection owns, dropped when it is rebuilt. */
  tables: string[];
  /** `CREATE TABLE IF NOT EXISTS ...` statements (and their indexes). */
  schema: string;
  apply(db: Database, event: RecordedEvent): void;
}

/** The stored `data` of a session event: the event minus its `type` (see src/engine/codec.ts). */
export type DataOf<T extends SessionEventType> = Omit<EventOfType<T>, 'type'>;

/** The event interface whose `type` admits T (TransferResponse covers several types). */
type EventOfType<T extends SessionEventType> = SessionEvent extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? E
      : never
    : never
  : never;

/** Statements prepared once per database connection, on first use (after the schema exists). */
export function preparedFor<T>(build: (db: Database) => T): (db: Database) => T {
  const cache = new WeakMap<Database, T>();
  return (db) => {
    let statements = cache.get(db);
    if (!statements) {
      statements = build(db);
      cache.set(db, statements);
    }
    return statements;
  };
}

/** The root call sid of a session stream (`call-<sid>`), or undefined for other streams. */
export function sessionSidOf(event: RecordedEvent): string | undefined {
  return event.streamName.startsWith('call-') ? event.streamName.slice('call-'.length) : undefined;
}

/** Whole seconds between two ISO times, rounded up (a started second counts), never negative. */
export function secondsBetween(from: string, to: string): number {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : 0;
}

/** Milliseconds between two ISO times, never negative. */
export function millisBetween(from: string, to: string): number {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** The user part of a SIP URI (`sip:+1555@host` -> `+1555`), or the URI when it has none. */
export function userOf(uri: string): string {
  const match = /^(?:sips?|tel):([^@;>]+)/i.exec(uri);
  return match?.[1] ?? uri;
}
