/**
 * `pivot projections status|rebuild` on a projection module users wrote, named in the config: listed,
 * rebuilt alone, and rebuilt when its version changes. Each command is a `pivot` process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProjectionModules, openViews } from '../../projections/index.ts';
import { createProjectionRunner } from '../../projections/runner.ts';
import { createSqliteEventStore } from '../../src/store/sqlite.ts';
import { billingConfig, createDriver } from '../projections/drive.ts';
import { writeModule as writeModuleIn } from '../projections/userModule.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'pivot-user-projections-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const writeModule = (file: string, version?: number) => writeModuleIn(dir, file, version);

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
