import type { Database } from 'better-sqlite3';

/**
 * Schema versions in order: `migrations[i]` takes the schema from version i to i + 1. Never edit a
 * shipped migration; append a new one, so every existing file can be brought forward.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE events (
    -- AUTOINCREMENT so a position is never reused, even if the newest rows were ever removed.
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream, revision),
    UNIQUE (stream, event_id)
  );
  `,
];

export const latestSchemaVersion = migrations.length;

/** Brings the file to the latest schema; safe when several processes open the same file at once. */
export function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const currentVersion = db.prepare<[], { version: number }>('SELECT version FROM schema_version');
  const apply = db.transaction(() => {
    // Read inside the write lock: another process may have migrated while we waited for it.
    const from = currentVersion.get()?.version ?? 0;
    if (from > latestSchemaVersion) {
      throw new Error(
        `event store schema version ${from} is newer than this program (${latestSchemaVersion})`,
      );
    }
    for (const sql of migrations.slice(from)) db.exec(sql);
    db.prepare('DELETE FROM schema_version').run();
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(latestSchemaVersion);
  });
  if ((currentVersion.get()?.version ?? 0) !== latestSchemaVersion) apply.immediate();
}
