/**
 * Projection rebuild throughput: `npm run bench:projections` (or `npx tsx bench/projections.ts`).
 *
 * Drives the real engine with typed SIP inputs (test/projections/drive.ts: plain calls of every status,
 * transfers of every billing case, busy and unanswered targets) into a temporary SQLite store until it
 * holds at least BENCH_EVENTS events (default 100,000), several sessions at a time so appends are
 * group-committed as in production. Then rebuilds every projection (the built-in four and the examples
 * in projections/examples/) from position 0 into a fresh views file, then each projection alone, and
 * prints events/s.
 *
 * BENCH_KEEP=1 keeps the directory and prints the `pivot projections rebuild -c ...` command that
 * measures the same through the CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProjectionModules, openViews, projectionsFor } from '../projections/index.ts';
import { createProjectionRunner } from '../projections/runner.ts';
import { parseConfig } from '../src/config/index.ts';
import { createSqliteEventStore } from '../src/store/sqlite.ts';
import { startTrunkRegistry } from '../src/trunks/registry.ts';
import { billingConfig, createDriver, mixedTraffic } from '../test/projections/drive.ts';

const target = Number(process.env.BENCH_EVENTS ?? 100_000);
const parallel = Number(process.env.BENCH_PARALLEL ?? 32);
const keep = process.env.BENCH_KEEP === '1';

const dir = mkdtempSync(join(tmpdir(), 'pivot-bench-projections-'));
const storePath = join(dir, 'pivot.db');
const base = billingConfig();
const config = parseConfig({
  ...base,
  store: { kind: 'sqlite', path: storePath },
  projections: { path: join(dir, 'views.db') },
});
writeFileSync(join(dir, 'pivot.yaml'), JSON.stringify(config));

const store = createSqliteEventStore({ path: storePath });
const trunks = await startTrunkRegistry({ store, config, follow: false });

process.stderr.write(
  `projections bench: generating >= ${target} events in ${storePath} (${cpus().length} CPUs)\n`,
);
const generation = performance.now();
let sessions = 0;
// Each worker is an engine of its own, as several SIP inputs in flight would be.
await Promise.all(
  Array.from({ length: parallel }, async (_, worker) => {
    const driver = createDriver({
      store,
      config,
      trunks: trunks.current,
      start: new Date(Date.parse('2025-03-01T00:00:00Z') + worker * 3_600_000).toISOString(),
    });
    while ((await store.headPosition()) < target) {
      await mixedTraffic(driver, 10);
      sessions += 10;
    }
    await driver.engine.stop();
  }),
);
const events = await store.headPosition();
const generated = (performance.now() - generation) / 1000;
process.stderr.write(
  `  ${events} events, ${sessions} sessions in ${generated.toFixed(1)} s (${Math.round(events / generated)} events/s through the engine)\n`,
);

const views = openViews(join(dir, 'views.db'));
// As `pivot projections rebuild` runs it (5000 events per transaction).
// The built-in four, then the example projections users would load from modules.
const examples = await loadProjectionModules([
  { module: 'projections/examples/agent-stats.ts' },
  { module: 'projections/examples/cdr.ts' },
]);
const runner = createProjectionRunner({
  store,
  db: views,
  projections: [...projectionsFor(config), ...examples],
  batchSize: 5000,
});
const rows: [string, number, number][] = [];
for (let run = 1; run <= 3; run++) {
  const all = await runner.rebuild();
  rows.push([`${all.projections.join(' + ')} (run ${run})`, all.events, all.eventsPerSecond]);
}
for (const projection of runner.projections) {
  const one = await runner.rebuild([projection.name]);
  rows.push([projection.name, one.events, one.eventsPerSecond]);
}
const counts = views
  .prepare<[], { calls: number; transfers: number; lines: number; audit: number }>(
    `SELECT (SELECT count(*) FROM calls) AS calls, (SELECT count(*) FROM transfers) AS transfers,
       (SELECT count(*) FROM billing_lines) AS lines, (SELECT count(*) FROM audit) AS audit`,
  )
  .get()!;
views.close();
await trunks.stop();
await store.close();

const width = Math.max(...rows.map(([name]) => name.length), 'rebuild'.length);
console.log();
console.log(`${'rebuild'.padEnd(width)}  ${'events'.padStart(8)}  ${'events/s'.padStart(9)}`);
console.log(`${'-'.repeat(width)}  ${'-'.repeat(8)}  ${'-'.repeat(9)}`);
for (const [name, count, rate] of rows) {
  console.log(`${name.padEnd(width)}  ${String(count).padStart(8)}  ${String(Math.round(rate)).padStart(9)}`);
}
console.log();
console.log(
  `read models: ${counts.calls} calls, ${counts.transfers} transfers, ${counts.lines} billing lines, ${counts.audit} audit entries`,
);
if (keep) {
  console.log(`kept ${dir}; the same through the CLI:`);
  console.log(`  npx tsx src/cli/main.ts projections rebuild -c ${join(dir, 'pivot.yaml')}`);
} else {
  rmSync(dir, { recursive: true, force: true });
}
