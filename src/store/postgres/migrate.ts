import type pg from 'pg';
import { migrations as defaultMigrations, type Migration, type SchemaNames } from './schema.ts';

/**
 * Brings the schema to the newest version. Processes that start together take turns on an advisory
 * lock, so each migration runs once; each runs in the same transaction as its schema_version row, so a
 * failed migration leaves nothing half-applied.
 * @returns the schema version after migrating.
 */
export async function migrate(
  pool: pg.Pool,
  names: SchemaNames,
  migrations: readonly Migration[] = defaultMigrations,
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [names.migrateLockKey]);
    // Checked first because CREATE SCHEMA needs the CREATE privilege even when the schema exists.
    const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schema]);
    if (schema.rowCount === 0) await client.query(`CREATE SCHEMA "${names.schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.schemaVersion} (
         version    integer     PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number }>(
      `SELECT coalesce(max(version), 0)::integer AS version FROM ${names.schemaVersion}`,
    );
    let version = rows[0]?.version ?? 0;
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (migration.version <= version) continue;
      await client.query(migration.sql(names));
      await client.query(`INSERT INTO ${names.schemaVersion} (version) VALUES ($1)`, [migration.version]);
      version = migration.version;
    }
    await client.query('COMMIT');
    return version;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
