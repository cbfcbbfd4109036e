import type { Database, Statement } from 'better-sqlite3';
import { type EventRow, eventColumns } from './rows.ts';

/** Every query the store runs, prepared once per connection. */
export interface Statements {
  lastRevision: Statement<[stream: string], { revision: number | null }>;
  findEvent: Statement<[stream: string, eventId: string], { revision: number; position: number }>;
  insert: Statement<[string, number, string, string, string, string, string]>;
  /** A negative limit means no limit. */
  readStream: Statement<[stream: string, fromRevision: number, limit: number], EventRow>;
  readAll: Statement<[after: number, limit: number], EventRow>;
  headPosition: Statement<[], { position: number | null }>;
}

export function prepareStatements(db: Database): Statements {
  return {
    lastRevision: db.prepare('SELECT MAX(revision) AS revision FROM events WHERE stream = ?'),
    findEvent: db.prepare('SELECT revision, position FROM events WHERE stream = ? AND event_id = ?'),
    insert: db.prepare(
      `INSERT INTO events (stream, revision, event_id, type, data, metadata, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    readStream: db.prepare(
      `SELECT ${eventColumns} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`,
    ),
    readAll: db.prepare(`SELECT ${eventColumns} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
    headPosition: db.prepare('SELECT MAX(position) AS position FROM events'),
  };
}
