/**
 * The read side: the projections the pivot ships, the SQLite database they live in, and
 * `startProjections` for `pivot serve` / `pivot api` (catch up, then follow `$all` live).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { PivotConfig } from '../src/config/index.ts';
import { viewsPathOf } from '../src/config/schema.ts';
import { trunkSidOf } from '../src/engine/classify.ts';
import { EVENT_TYPES } from '../src/events/schema.ts';
import { type Logger, silentLogger } from '../src/log.ts';
import type { EventStore } from '../src/store/port.ts';
import { auditProjection } from './audit.ts';
import { createBillingProjection } from './billing.ts';
import { callLogProjection } from './callLog.ts';
import { loadProjectionModules } from './load.ts';
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
export { compileProjection, defineProjection } from './api.ts';
export { loadProjectionModules, ProjectionLoadError } from './load.ts';
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
  const projections = await loadProjections(options.config);
  const db = openViews(path);
  const callbacks = statusCallbacksOf(options.config);
  let dispatcher: WebhookDispatcher | undefined;
  const runner = createProjectionRunner({
    store: options.store,
    db,
    projections,
    log,
    onCommit: () => dispatcher?.kick(),
  });
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
      db.close();
    },
  };
}
