/**
 * Helpers for writing projections (the API itself is projections/api.ts): statements prepared once per
 * database, and the time and SIP URI arithmetic the read models share.
 */
import type { Database } from 'better-sqlite3';
import type { SessionEventType } from '../machines/events.ts';
import type { EventDataOf } from './api.ts';

export type { Projection } from './api.ts';
export { sessionSidOf } from './api.ts';

/** The stored `data` of a session event: the event minus its `type` (see src/engine/codec.ts). */
export type DataOf<T extends SessionEventType> = EventDataOf<T>;

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
