/**
 * The trunk registry on a real PostgreSQL store, whose jsonb gives objects back with their keys sorted:
 * a second process starting on the trunks the first one seeded finds them the same as its config file.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../../src/store/postgres/index.ts';
import { startTrunkRegistry } from '../../src/trunks/registry.ts';
import { billingConfig } from '../projections/drive.ts';

describe('trunk registry on PostgreSQL (jsonb sorts object keys)', () => {
  // Needs PostgreSQL on 127.0.0.1:5432 with trust auth, as test/store/postgres.test.ts does.
  const adminUrl = process.env.PIVOT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

  it('a second process starting on the trunks the first one seeded logs no warning', async () => {
    const database = `pivot_trunks_${randomBytes(6).toString('hex')}`;
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    try {
      const config = billingConfig();
      const warnings: string[] = [];
      const log = (level: string, message: string) => {
        if (level === 'warn') warnings.push(message);
      };
      for (const _process of ['seeds', 'finds them stored']) {
        const store = createPostgresEventStore({ url: url.toString() });
        const registry = await startTrunkRegistry({ store, config, follow: false, log });
        await registry.stop();
        await store.close();
      }
      expect(warnings).toEqual([]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});
