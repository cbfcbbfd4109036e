/**
 * Projections users write: modules outside the pivot's source, loaded from the config, run by the same
 * runner (checkpoint, status, rebuild, a version bump rebuilds), and refused with the field named when
 * they cannot run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadProjectionModules, openViews } from '../../projections/index.ts';
import { createProjectionRunner } from '../../projections/runner.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { billingConfig, createDriver } from './drive.ts';
import { type World, world } from './support.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'pivot-user-projections-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A user's projection counting calls per trunk; `version` and the module's extension vary per test. */
function writeModule(file: string, version = 1): string {
  const path = join(dir, file);
  const typed = file.endsWith('.ts');
  writeFileSync(
    path,
    [
      typed ? "import type { Database } from 'better-sqlite3';" : '',
      'export default (options) => ({',
      "  name: options.name ?? 'callsPerTrunk',",
      `  version: ${version},`,
      "  tables: { calls_per_trunk: 'CREATE TABLE IF NOT EXISTS calls_per_trunk (trunk_sid TEXT PRIMARY KEY, calls INTEGER NOT NULL)' },",
      `  prepare: (db${typed ? ': Database' : ''}) => db.prepare('INSERT INTO calls_per_trunk VALUES (?, 1) ON CONFLICT (trunk_sid) DO UPDATE SET calls = calls + 1'),`,
      `  handlers: { CallReceived(event${typed ? ': { data: { trunkSid: string } }' : ''}, bump${typed ? ': { run(sid: string): void }' : ''}) { bump.run(event.data.trunkSid); } },`,
      '});',
    ].join('\n'),
  );
  return path;
}

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('loading projection modules', () => {
  it.each(['calls.mjs', 'calls.ts'])(
    'a %s module outside the source folds events like a built-in one',
    async (file) => {
      w = await world();
      for (let i = 0; i < 3; i++) await (await w.driver.terminating()).reject(486, 'Busy Here');
      const projections = await loadProjectionModules([
        { module: writeModule(file), options: { name: 'mine' } },
      ]);
      expect(projections.map((p) => p.name)).toEqual(['mine']);
      const { db, runner } = await w.project(projections);
      expect(db.prepare('SELECT calls FROM calls_per_trunk').all()).toEqual([{ calls: 3 }]);
      expect((await runner.status()).map(({ name, lag }) => ({ name, lag }))).toEqual([
        { name: 'mine', lag: 0 },
      ]);
    },
  );

  it('refuses a module that cannot run, naming the module and the field', async () => {
    const bad = join(dir, 'bad.mjs');
    writeFileSync(
      bad,
      "export default { name: 'bad', version: 0, tables: { t: 'CREATE TABLE t (x)' }, handlers: { CallRecieved() {} } };",
    );
    await expect(
      loadProjectionModules([{ module: bad }], { knownTypes: new Set(['CallReceived']) }),
    ).rejects.toThrow(
      `projections.modules[0] (${bad}): version: expected a positive integer; handlers.CallRecieved: no such event type`,
    );
    await expect(loadProjectionModules([{ module: join(dir, 'missing.mjs') }])).rejects.toThrow(
      /projections\.modules\[0\] \(.*missing\.mjs\): cannot load/,
    );
  });

  it('refuses two projections that claim one table', async () => {
    const one = await loadProjectionModules([
      { module: writeModule('a.mjs'), options: { name: 'a' } },
      { module: writeModule('b.mjs'), options: { name: 'b' } },
    ]);
    const db = openViews(':memory:');
    const store = createSqliteEventStore({ path: ':memory:' });
    expect(() => createProjectionRunner({ store, db, projections: one })).toThrow(
      'table calls_per_trunk belongs to both a and b',
    );
    db.close();
    await store.close();
  });
});

describe('pivot projections status|rebuild with a module from the config', () => {
  async function pivot(...args: string[]) {
    const { stdout } = await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      encoding: 'utf8',
    });
    return stdout;
  }

  // Three `pivot` processes through tsx: slow on a loaded machine, so no tight harness limit.
  it('lists it, rebuilds it alone, and rebuilds it when its version changes', {
    timeout: 180_000,
  }, async () => {
    const storePath = join(dir, 'pivot.db');
    const store = createSqliteEventStore({ path: storePath });
    const config = billingConfig();
    const driver = createDriver({ store, config });
    for (let i = 0; i < 4; i++) await (await driver.terminating()).reject(486, 'Busy Here');
    await driver.engine.stop();
    await store.close();
    const module = writeModule('cli.ts');
    const configPath = join(dir, 'pivot.json');
    const writeConfig = () =>
      writeFileSync(
        configPath,
        JSON.stringify({
          ...config,
          store: { kind: 'sqlite', path: storePath },
          projections: { path: join(dir, 'views.db'), modules: [{ module }] },
        }),
      );
    writeConfig();

    const rebuilt = JSON.parse(
      await pivot('projections', 'rebuild', 'callsPerTrunk', '-c', configPath, '--json'),
    );
    expect(rebuilt).toMatchObject({ projections: ['callsPerTrunk'], events: expect.any(Number) });
    const status = JSON.parse(await pivot('projections', 'status', '-c', configPath, '--json'));
    const mine = status.projections.find((p: { name: string }) => p.name === 'callsPerTrunk');
    expect(mine).toMatchObject({ version: 1, lag: 0 });
    const views = openViews(join(dir, 'views.db'));
    expect(views.prepare('SELECT calls FROM calls_per_trunk').all()).toEqual([{ calls: 4 }]);
    // Tamper with the rows, bump the version: opening the runner rebuilds it from position 0.
    views.prepare('UPDATE calls_per_trunk SET calls = 99').run();
    views.close();
    writeModule('cli.ts', 2);
    const after = JSON.parse(await pivot('projections', 'status', '-c', configPath, '--json'));
    expect(after.projections.find((p: { name: string }) => p.name === 'callsPerTrunk')).toMatchObject({
      version: 2,
    });
    const reopened = openViews(join(dir, 'views.db'));
    const events = createSqliteEventStore({ path: storePath });
    const runner = createProjectionRunner({
      store: events,
      db: reopened,
      projections: await loadProjectionModules([{ module }]),
    });
    await runner.catchUp();
    expect(reopened.prepare('SELECT calls FROM calls_per_trunk').all()).toEqual([{ calls: 4 }]);
    reopened.close();
    await events.close();
  });
});
