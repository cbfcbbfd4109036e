/**
 * The read side: the projections the pivot ships, the SQLite database they live in, and
 * `startProjections` for `pivot serve` / `pivot api` (catch up, then follow `$all` live).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { PivotConfig } from '../src/config/index.ts';
import { viewsPathOf } from '../src/config/schema.ts';
import { EVENT_TYPES } from '../src/events/schema.ts';
import { type Logger, silentLogger } from '../src/log.ts';
import { trunkSidOf } from '../src/shared/sids.ts';
import type { EventStore } from '../src/store/port.ts';
import { auditProjection } from './audit.ts';
import { createBillingProjection } from './billing.ts';
import { callLogProjection } from './callLog.ts';
import { combineRunners } from './combined.ts';
import { loadProjectionModuleSet, loadProjectionModules, ProjectionLoadError } from './load.ts';
import { createPostgresProjectionRunner } from './postgres.ts';
import type { TrunkRates } from './pricing.ts';
import { createProjectionRunner, type ProjectionRunner } from './runner.ts';
import { transfersProjection } from './transfers.ts';
import type { Projection } from './types.ts';
import { createWebhookDispatcher, statusCallbacksOf, type WebhookDispatcher } from './webhooks/index.ts';

export type {
  EventDataOf,
  HandledEvent,
  Handler,
  Handlers,
  PivotEvent,
  PivotEventType,
  ProjectedEvent,
  Projection,
  ProjectionDefinition,
} from './api.ts';
export { compileProjection, definePostgresProjection, defineProjection } from './api.ts';
export { loadProjectionModuleSet, loadProjectionModules, ProjectionLoadError } from './load.ts';
export { createPostgresProjectionRunner } from './postgres.ts';
export type { ProjectionRunner, ProjectionStatus, RebuildResult } from './runner.ts';

/** Every projection, in the order the runner applies them. Billing falls back to the config's rates. */
export function projectionsFor(
  config?: Pick<PivotConfig, 'trunks'> & Partial<Pick<PivotConfig, 'statusCallbacks'>>,
): Projection[] {
  const fallbackRates: Record<string, TrunkRates> = {};
  for (const trunk of config?.trunks ?? []) fallbackRates[trunkSidOf(trunk.name)] = trunk.rates;
  const callbacks = config ? statusCallbacksOf(config) : undefined;
  return [
    callLogProjection,
    transfersProjection,
    createBillingProjection({ fallbackRates }),
    auditProjection,
    ...(callbacks ? [callbacks.projection] : []),
  ];
}

/** The built-in projections, then those the config loads from modules (`projections.modules`). */
export async function loadProjections(
  config: Pick<PivotConfig, 'trunks' | 'projections'>,
): Promise<Projection[]> {
  const modules = await loadProjectionModules(config.projections?.modules, { knownTypes: EVENT_TYPES });
  return [...projectionsFor(config), ...modules];
}

type ReadSideConfig = Pick<PivotConfig, 'trunks' | 'projections' | 'store'> &
  Partial<Pick<PivotConfig, 'statusCallbacks'>>;

/** Where PostgreSQL projections live: `projections.postgres.url`, else a PostgreSQL store's database. */
export function postgresViewsUrlOf(config: Pick<PivotConfig, 'projections' | 'store'>): string | undefined {
  return (
    config.projections?.postgres?.url ?? (config.store.kind === 'postgres' ? config.store.url : undefined)
  );
}

export interface ReadSideRunners {
  /** The runner over the SQLite views (built-in projections and SQLite modules). */
  sqlite: ProjectionRunner;
  /** Both, when PostgreSQL projections are loaded: what status, rebuild and /healthz use. */
  all: ProjectionRunner;
  close(): Promise<void>;
}

/** The runners for everything the config names: SQLite projections on `db`, PostgreSQL ones apart. */
export async function createReadSideRunners(
  config: ReadSideConfig,
  store: EventStore,
  db: Database.Database,
  options: { log?: Logger; batchSize?: number; onCommit?: (position: number) => void } = {},
): Promise<ReadSideRunners> {
  const modules = await loadProjectionModuleSet(config.projections?.modules, { knownTypes: EVENT_TYPES });
  const sqlite = createProjectionRunner({
    store,
    db,
    projections: [...projectionsFor(config), ...modules.sqlite],
    ...options,
  });
  if (modules.postgres.length === 0) return { sqlite, all: sqlite, close: async () => {} };
  const url = postgresViewsUrlOf(config);
  if (!url) {
    throw new ProjectionLoadError(
      `projections ${modules.postgres.map((p) => p.name).join(', ')} need PostgreSQL: set projections.postgres.url`,
    );
  }
  const postgres = await createPostgresProjectionRunner({
    store,
    url,
    projections: modules.postgres,
    ...(options.log ? { log: options.log } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
  });
  return { sqlite, all: combineRunners([sqlite, postgres]), close: () => postgres.close() };
}

/** Opens (creating if needed) the read-model database. */
export function openViews(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // Read models can always be rebuilt from the events, and rows and checkpoint commit together, so
    // NORMAL is enough: a lost transaction after a power cut is simply applied again.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // 32 MiB of page cache, and fewer (fsyncing) WAL checkpoints: a rebuild rewrites every table.
    db.pragma('cache_size = -32768');
    db.pragma('wal_autocheckpoint = 10000');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export interface RunningProjections {
  db: Database.Database;
  runner: ProjectionRunner;
  stop(): Promise<void>;
}

export interface StartProjectionsOptions {
  config: PivotConfig;
  store: EventStore;
  log?: Logger;
  /** Defaults to the config's `projections.path` (or its default next to the store). */
  path?: string;
  /** Follow `$all` live (default true); false only catches up with what is stored now. */
  follow?: boolean;
}

/** Opens the views and follows `$all` from the stored checkpoints until stopped. */
export async function startProjections(options: StartProjectionsOptions): Promise<RunningProjections> {
  const log = options.log ?? silentLogger;
  const path = options.path ?? viewsPathOf(options.config);
  const db = openViews(path);
  const callbacks = statusCallbacksOf(options.config);
  let dispatcher: WebhookDispatcher | undefined;
  let runners: ReadSideRunners;
  try {
    runners = await createReadSideRunners(options.config, options.store, db, {
      log,
      onCommit: () => dispatcher?.kick(),
    });
  } catch (error) {
    db.close();
    throw error;
  }
  const runner = runners.all;
  if (callbacks) {
    dispatcher = createWebhookDispatcher({ db, targetOf: callbacks.targetOf, log });
    dispatcher.start();
  }
  if (options.follow ?? true) {
    // The follower catches up by itself, a batch at a time, so start-up does not wait for a long
    // history; /healthz and `pivot projections status` show the lag meanwhile.
    runner.start();
    log('info', 'projections following $all', { path, head: await options.store.headPosition() });
  } else {
    await runner.catchUp();
  }
  return {
    db,
    runner,
    async stop() {
      await runner.stop();
      await dispatcher?.stop();
      await runners.close();
      db.close();
    },
  };
}
