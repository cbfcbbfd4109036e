/**
 * A long fuzzing run against a pivot started in this process (test/e2e/pivot.ts: SQLite store in a temp
 * dir, trunk PBX on 127.0.0.1): seeded mutants over UDP and TCP from loopback sources only, an OPTIONS
 * probe after every batch (test/fuzz/driver.ts).
 *
 *   npm run fuzz [-- --count 1000000 --seed 7 --batch 250]
 *
 * Prints messages sent, crashes (uncaught exceptions and unhandled rejections, and throws the adapter's
 * safety nets caught: `error` logs), unanswered probes, and RSS before and after. Exits 1 on any crash.
 */

import { startTestPivot, TRUNK_DOMAIN } from '../test/e2e/pivot.ts';
import { runFuzz } from '../test/fuzz/driver.ts';
import { freePort } from '../test/helpers/sipp.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const count = Number(flag('count', '100000'));
const seed = Number(flag('seed', String(Date.now() % 1_000_000)));
const batch = Number(flag('batch', '250'));
if (
  !Number.isInteger(count) ||
  count < 1 ||
  !Number.isInteger(seed) ||
  !Number.isInteger(batch) ||
  batch < 1
) {
  console.error('usage: bench/fuzz.ts [--count N] [--seed N] [--batch N]');
  process.exit(2);
}

const crashes: string[] = [];
const caught = new Map<string, number>();
process.on('uncaughtException', (error) => crashes.push(`uncaught: ${String(error)}`));
process.on('unhandledRejection', (error) => crashes.push(`unhandled rejection: ${String(error)}`));

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
/** After a full GC when run with --expose-gc (npm run fuzz does): what is live, not what the allocator kept. */
const memory = () => {
  global.gc?.();
  const m = process.memoryUsage();
  return `RSS ${mb(m.rss)} (heap used ${mb(m.heapUsed)}, buffers ${mb(m.arrayBuffers)})`;
};
const pivot = await startTestPivot({
  carrierPort: await freePort(),
  log: (level, message, fields) => {
    if (level !== 'error') return;
    const key = `${message} ${JSON.stringify(fields ?? {})}`.slice(0, 300);
    caught.set(key, (caught.get(key) ?? 0) + 1);
  },
});
const before = memory();
console.log(`fuzzing ${pivot.address}: seed ${seed}, ${count} messages, OPTIONS probe every ${batch}`);
const started = Date.now();
let nextReport = 0;
const result = await runFuzz({
  host: '127.0.0.1',
  port: pivot.port,
  trunkDomain: TRUNK_DOMAIN,
  seed,
  count,
  batch,
  onBatch: (progress) => {
    if (progress.sent < nextReport) return;
    nextReport += Math.max(batch, Math.floor(count / 10));
    const rate = progress.sent / ((Date.now() - started) / 1000);
    console.log(
      `  ${progress.sent} sent (${rate.toFixed(0)}/s), unanswered probes ${progress.unansweredProbes}, ${memory()}`,
    );
  },
});
const wallS = (Date.now() - started) / 1000;
const after = memory();
await pivot.dispose();

const caughtTotal = [...caught.values()].reduce((a, b) => a + b, 0);
console.log(
  `seed ${seed}: ${result.sent} messages sent (${result.udp} UDP, ${result.tcp} TCP) in ${wallS.toFixed(1)} s`,
);
console.log(`crashes: ${crashes.length} uncaught/unhandled, ${caughtTotal} caught throws (error logs)`);
console.log(`OPTIONS probes unanswered: ${result.unansweredProbes} of ${result.batches}`);
console.log(`before: ${before}\nafter:  ${after}`);
for (const crash of crashes.slice(0, 10)) console.log(`  ${crash}`);
for (const [line, n] of [...caught].slice(0, 10)) console.log(`  ${n} x ${line}`);
process.exit(crashes.length + caughtTotal + result.unansweredProbes > 0 ? 1 : 0);
