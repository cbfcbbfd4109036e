/**
 * Projections users write: modules outside the pivot's source, loaded from the config, run by the same
 * runner, and refused with the field named when they cannot run. The `pivot projections` commands on
 * such a module (status, rebuild, a version bump rebuilds) are in test/cli/projection-modules.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadProjectionModules, openViews } from '../../projections/index.ts';
import { createProjectionRunner } from '../../projections/runner.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { type World, world } from './support.ts';
import { writeModule as writeModuleIn } from './userModule.ts';

const dir = mkdtempSync(join(tmpdir(), 'pivot-user-projections-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const writeModule = (file: string, version?: number) => writeModuleIn(dir, file, version);

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
