/**
 * Given events -> rows: a store driven by the real engine (see drive.ts), trunks seeded as the service
 * seeds them, and the projections folded into an in-memory views database.
 */
import type { Database } from 'better-sqlite3';
import { openViews, projectionsFor } from '../../projections/index.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../projections/runner.ts';
import type { Projection } from '../../projections/types.ts';
import type { PivotConfig } from '../../src/config/index.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { startTrunkRegistry, type TrunkRegistry } from '../../src/trunks/registry.ts';
import { billingConfig, createDriver, type Driver } from './drive.ts';

export interface World {
  store: EventStore;
  config: PivotConfig;
  trunks: TrunkRegistry;
  driver: Driver;
  /** A fresh views database with every projection caught up with the store. */
  project(projections?: Projection[]): Promise<{ db: Database; runner: ProjectionRunner }>;
  close(): Promise<void>;
}

export async function world(
  options: { config?: PivotConfig; store?: EventStore; start?: string } = {},
): Promise<World> {
  const store = options.store ?? createInMemoryEventStore();
  const config = options.config ?? billingConfig();
  const clock = () => new Date(options.start ?? '2025-03-14T08:00:00.000Z');
  const trunks = await startTrunkRegistry({ store, config, clock, follow: false });
  const driver = createDriver({
    store,
    config,
    trunks: trunks.current,
    ...(options.start ? { start: options.start } : {}),
  });
  const opened: Database[] = [];
  return {
    store,
    config,
    trunks,
    driver,
    async project(projections = projectionsFor(config)) {
      const db = openViews(':memory:');
      opened.push(db);
      const runner = createProjectionRunner({ store, db, projections });
      await runner.catchUp();
      return { db, runner };
    },
    async close() {
      await driver.engine.stop();
      await trunks.stop();
      for (const db of opened) db.close();
      await store.close();
    },
  };
}

/** Every row of a table, ordered by the given columns, as plain objects. */
export function rows(db: Database, table: string, orderBy = 'rowid'): Record<string, unknown>[] {
  return db.prepare(`SELECT * FROM ${table} ORDER BY ${orderBy}`).all() as Record<string, unknown>[];
}

export function row(
  db: Database,
  table: string,
  where: string,
  ...params: unknown[]
): Record<string, unknown> {
  const found = db.prepare(`SELECT * FROM ${table} WHERE ${where}`).get(...params);
  if (!found) throw new Error(`no row in ${table} where ${where} ${JSON.stringify(params)}`);
  return found as Record<string, unknown>;
}

/** The whole read side as one comparable value (every projection table, in a stable order). */
export function snapshot(db: Database): Record<string, unknown[]> {
  const tables = db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'projection_checkpoints' ORDER BY name",
    )
    .all();
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    const columns = db.prepare(`SELECT * FROM "${name}" LIMIT 0`).columns();
    const order = columns.map((_, i) => String(i + 1)).join(', ');
    out[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY ${order}`).all();
  }
  return out;
}
