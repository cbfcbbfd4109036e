import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.ts';

/** How long a writer waits for another process holding the write lock before giving up. */
const busyTimeoutMs = 5_000;

export function openDatabase(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // WAL: readers (subscriptions, other processes) never block the single writer, and a commit is one
    // append to the log. FULL: a resolved append has been fsynced, so "persist, then act" holds.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
