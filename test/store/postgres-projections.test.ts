/**
 * Projections on PostgreSQL: a module with `database: 'postgres'` loaded from the config next to the
 * SQLite ones; rows and checkpoint in one PostgreSQL transaction; status, rebuild, a version bump.
 * Real PostgreSQL on 127.0.0.1:5432, a database of its own per run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadSideRunners, openViews, ProjectionLoadError } from '../../projections/index.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import { billingConfig, createDriver, US_NUMBER } from '../projections/drive.ts';

const adminUrl = process.env.PIVOT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const database = `pivot_views_${randomBytes(6).toString('hex')}`;
const url = (() => {
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${database}`;
  return parsed.toString();
})();
const dir = mkdtempSync(join(tmpdir(), 'pivot-pg-projections-'));
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
});
afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

function writeModule(version: number): string {
  const path = join(dir, `ended-${version}.mjs`);
  writeFileSync(
    path,
    `export default {
      name: 'endedByStatus',
      version: ${version},
      database: 'postgres',
      tables: { ended_by_status: 'CREATE TABLE IF NOT EXISTS ended_by_status (status TEXT PRIMARY KEY, calls INTEGER NOT NULL)' },
      handlers: {
        async CallEnded(event, client) {
          await client.query(
            'INSERT INTO ended_by_status VALUES ($1, 1) ON CONFLICT (status) DO UPDATE SET calls = ended_by_status.calls + 1',
            [event.data.status],
          );
        },
      },
    };`,
  );
  return path;
}

async function rowsOf(): Promise<{ status: string; calls: number }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT status, calls FROM ended_by_status ORDER BY status')).rows;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL projections', () => {
  it('fold next to the SQLite ones, report status, rebuild, and rebuild on a version bump', async () => {
    const store = createInMemoryEventStore();
    const config = billingConfig();
    const driver = createDriver({ store, config });
    for (const status of [486, 486, 503])
      await (await driver.terminating({ to: US_NUMBER })).reject(status, 'No');
    const answered = await driver.terminating({ to: US_NUMBER });
    await answered.answer();
    await answered.hangup('customer');

    const withModule = (module: string) => ({
      ...config,
      projections: { modules: [{ module }], postgres: { url } },
    });
    const db = openViews(':memory:');
    const runners = await createReadSideRunners(withModule(writeModule(1)), store, db);
    await runners.all.catchUp();
    expect(await rowsOf()).toEqual([
      { status: 'busy', calls: 2 },
      { status: 'completed', calls: 1 },
      { status: 'failed', calls: 1 },
    ]);
    const status = await runners.all.status();
    expect(status.map((s) => [s.name, s.lag])).toEqual([
      ['callLog', 0],
      ['transfers', 0],
      ['billing', 0],
      ['audit', 0],
      ['endedByStatus', 0],
    ]);

    // Live: a new call ends while the runners follow $all.
    runners.all.start();
    await (await driver.terminating({ to: US_NUMBER })).reject(486, 'Busy Here');
    await runners.all.waitFor(await store.headPosition());
    expect((await rowsOf())[0]).toEqual({ status: 'busy', calls: 3 });
    await runners.all.stop();

    const rebuilt = await runners.all.rebuild(['endedByStatus']);
    expect(rebuilt.projections).toEqual(['endedByStatus']);
    expect((await rowsOf())[0]).toEqual({ status: 'busy', calls: 3 });
    await runners.close();

    // Tampered rows, then version 2: opening the runners rebuilds it from position 0.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE ended_by_status SET calls = 99');
    await client.end();
    const bumped = await createReadSideRunners(withModule(writeModule(2)), store, db);
    await bumped.all.catchUp();
    expect(await rowsOf()).toEqual([
      { status: 'busy', calls: 3 },
      { status: 'completed', calls: 1 },
      { status: 'failed', calls: 1 },
    ]);
    await bumped.close();
    db.close();
    await driver.engine.stop();
  });

  it('refuses a PostgreSQL projection with no PostgreSQL to run on', async () => {
    const store = createInMemoryEventStore();
    const db = openViews(':memory:');
    const config = { ...billingConfig(), projections: { modules: [{ module: writeModule(1) }] } };
    await expect(createReadSideRunners(config, store, db)).rejects.toThrow(ProjectionLoadError);
    await expect(createReadSideRunners(config, store, db)).rejects.toThrow('set projections.postgres.url');
    db.close();
  });
});
