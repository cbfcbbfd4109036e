import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openViews, projectionsFor } from '../../projections/index.ts';
import { lagBehind } from '../../projections/lag.ts';
import { createProjectionRunner } from '../../projections/runner.ts';
import type { Projection } from '../../projections/types.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { mixedTraffic } from './drive.ts';
import { snapshot, type World, world } from './support.ts';

const dirs: string[] = [];
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'pivot-views-'));
  dirs.push(dir);
  return dir;
}

/** A SQLite store with 40 sessions of mixed traffic (every status, every transfer outcome). */
async function trafficWorld(sessions = 40) {
  const dir = tempDir();
  w = await world({ store: createSqliteEventStore({ path: join(dir, 'events.db'), pollIntervalMs: 20 }) });
  await mixedTraffic(w.driver, sessions);
  return { dir, w };
}

/** The projections with one that throws on the event at `position` (a crash in the middle of a batch). */
function crashingAt(position: number, projections: Projection[]): Projection[] {
  const [first, ...rest] = projections;
  // Sees every event (no `types` filter), so the crash happens whatever type stands at `position`.
  const { types: _, ...all } = first!;
  return [
    {
      ...all,
      apply(db, event) {
        if (event.position === position) throw new Error(`crash at ${position}`);
        if (!first!.types || first!.types.has(event.type)) first!.apply(db, event);
      },
    },
    ...rest,
  ];
}

describe('projection runner', () => {
  it('rebuild equals incremental: live following in small batches gives the rows a rebuild gives', async () => {
    const { dir, w } = await trafficWorld(10);
    const db = openViews(join(dir, 'views.db'));
    const runner = createProjectionRunner({
      store: w.store,
      db,
      projections: projectionsFor(w.config),
      batchSize: 7,
    });
    runner.start();
    // More traffic while the runner follows live.
    await mixedTraffic(w.driver, 30);
    await runner.waitFor(await w.store.headPosition());
    const incremental = snapshot(db);
    expect(incremental.calls!.length).toBeGreaterThan(40);

    const result = await runner.rebuild();
    await runner.stop();
    expect(result.events).toBe(await w.store.headPosition());
    expect(result.projections).toEqual(['callLog', 'transfers', 'billing', 'audit']);
    expect(snapshot(db)).toEqual(incremental);

    const fresh = await w.project();
    expect(snapshot(fresh.db)).toEqual(incremental);
    db.close();
  });

  it('rebuilding one projection leaves the others alone and ends equal', async () => {
    const { w } = await trafficWorld(20);
    const { db, runner } = await w.project();
    const before = snapshot(db);
    db.exec('DELETE FROM billing_daily'); // damage it: the rebuild must restore it
    const result = await runner.rebuild(['billing']);
    expect(result.projections).toEqual(['billing']);
    expect(snapshot(db)).toEqual(before);
    await expect(runner.rebuild(['nope'])).rejects.toThrow(/no projection named nope/);
  });

  it('a crash in the middle of $all double-counts nothing: the batch rolls back, a restart resumes', async () => {
    const { dir, w } = await trafficWorld(40);
    const head = await w.store.headPosition();
    const path = join(dir, 'views.db');
    const crashAt = Math.floor(head / 2) + 3;

    const first = openViews(path);
    const dying = createProjectionRunner({
      store: w.store,
      db: first,
      projections: crashingAt(crashAt, projectionsFor(w.config)),
      batchSize: 10,
    });
    await expect(dying.catchUp()).rejects.toThrow(`crash at ${crashAt}`);
    const stopped = await dying.status();
    // Every projection stopped at the last whole batch before the crash, rows and checkpoint together.
    for (const status of stopped) expect(status.position).toBe(Math.floor((crashAt - 1) / 10) * 10);
    first.close(); // the process dies

    const second = openViews(path);
    const restarted = createProjectionRunner({
      store: w.store,
      db: second,
      projections: projectionsFor(w.config),
    });
    await restarted.catchUp();
    const fresh = await w.project();
    expect(snapshot(second)).toEqual(snapshot(fresh.db));
    expect((await restarted.status()).map((s) => s.lag)).toEqual([0, 0, 0, 0]);
    second.close();
  });

  it('a restart while following live double-counts nothing', async () => {
    const { dir, w } = await trafficWorld(5);
    const path = join(dir, 'views.db');
    const db1 = openViews(path);
    const one = createProjectionRunner({
      store: w.store,
      db: db1,
      projections: projectionsFor(w.config),
      batchSize: 3,
    });
    one.start();
    await mixedTraffic(w.driver, 10);
    await one.waitFor(await w.store.headPosition());
    await one.stop();
    db1.close();

    await mixedTraffic(w.driver, 10); // appended while no runner runs
    const db2 = openViews(path);
    const two = createProjectionRunner({ store: w.store, db: db2, projections: projectionsFor(w.config) });
    two.start();
    await mixedTraffic(w.driver, 5);
    await two.waitFor(await w.store.headPosition());
    await two.stop();
    const fresh = await w.project();
    expect(snapshot(db2)).toEqual(snapshot(fresh.db));
    db2.close();
  });

  it('two runners on one views database (service + a rebuild) apply every event exactly once', async () => {
    const { dir, w } = await trafficWorld(20);
    const path = join(dir, 'views.db');
    const serviceDb = openViews(path);
    const service = createProjectionRunner({
      store: w.store,
      db: serviceDb,
      projections: projectionsFor(w.config),
      batchSize: 5,
    });
    await service.catchUp();
    service.start();
    const cliDb = openViews(path);
    const cli = createProjectionRunner({
      store: w.store,
      db: cliDb,
      projections: projectionsFor(w.config),
      batchSize: 5,
    });
    const [rebuilt] = await Promise.all([cli.rebuild(['billing', 'callLog']), mixedTraffic(w.driver, 10)]);
    expect(rebuilt.events).toBeGreaterThan(0);
    await service.waitFor(await w.store.headPosition());
    await service.stop();
    // The rebuild moved checkpoints under the live runner: it noticed and resumed from them.
    expect(service.stats().conflicts).toBeGreaterThan(0);
    await cli.catchUp();
    const fresh = await w.project();
    expect(snapshot(serviceDb)).toEqual(snapshot(fresh.db));
    serviceDb.close();
    cliDb.close();
  });

  it('a projection stored at another version is rebuilt on start', async () => {
    const { dir, w } = await trafficWorld(5);
    const path = join(dir, 'views.db');
    const db1 = openViews(path);
    await createProjectionRunner({
      store: w.store,
      db: db1,
      projections: projectionsFor(w.config),
    }).catchUp();
    db1.exec("UPDATE calls SET status = 'bogus'");
    db1.close();

    const bumped = projectionsFor(w.config).map((p) =>
      p.name === 'callLog' ? { ...p, version: p.version + 1 } : p,
    );
    const db2 = openViews(path);
    const runner = createProjectionRunner({ store: w.store, db: db2, projections: bumped });
    expect((await runner.status()).find((s) => s.name === 'callLog')?.position).toBe(0);
    await runner.catchUp();
    expect(db2.prepare("SELECT count(*) AS n FROM calls WHERE status = 'bogus'").get()).toEqual({ n: 0 });
    db2.close();
  });

  it('status gives each projection its position and lag; a failing batch is retried live', async () => {
    const { w } = await trafficWorld(3);
    const head = await w.store.headPosition();
    const db = openViews(':memory:');
    let failures = 0;
    const flaky: Projection = {
      name: 'flaky',
      version: 1,
      tables: [],
      schema: '',
      apply(_db, event) {
        if (event.position === 2 && failures++ < 2) throw new Error('disk hiccup');
      },
    };
    const runner = createProjectionRunner({
      store: w.store,
      db,
      projections: [...projectionsFor(w.config), flaky],
      retryDelayMs: 5,
    });
    expect(await runner.status()).toEqual(
      [...projectionsFor(w.config), flaky].map(({ name, version }) => ({
        name,
        version,
        position: 0,
        lag: head,
        lagSeconds: expect.any(Number),
        updatedAt: expect.any(String),
      })),
    );
    runner.start();
    await runner.waitFor(head);
    expect(failures).toBe(3);
    expect(runner.lastError()).toBeUndefined();
    expect(
      (await runner.status()).every((s) => s.position === head && s.lag === 0 && s.lagSeconds === 0),
    ).toBe(true);
    await runner.stop();
    db.close();
  });
});

describe('lag', () => {
  it('is the number of events after the checkpoint and the age of the oldest one not folded', async () => {
    const { w } = await trafficWorld(2);
    const head = await w.store.headPosition();
    const [, second, third] = await w.store.readAll({ maxCount: 3 });
    const later = Date.parse(third!.recordedAt) + 7_000;
    const behind = await lagBehind(w.store, second!.position, head, later);
    expect(behind.events).toBe((await w.store.readAll({ after: second!.position })).length);
    expect(behind.seconds).toBeCloseTo(7, 3);
    expect(await lagBehind(w.store, head, head, later)).toEqual({ events: 0, seconds: 0 });
  });
});
