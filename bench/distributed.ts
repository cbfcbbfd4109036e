/**
 * Distributed throughput and latency: the same SIPp transfer load (bench/sipp-load.ts) against
 *   - all-in-one: one `pivot serve` process (in-process bus) on PostgreSQL,
 *   - split, 1 engine: `pivot sip` + one `pivot engine` over NATS JetStream, on PostgreSQL,
 *   - split, 2 engines: `pivot sip` + two `pivot engine` processes, same,
 * each a fresh cluster of OS processes (test/helpers/cluster.ts: its own nats-server and database),
 * one after the other in one run, so the figures sit side by side.
 *
 *   npm run bench:distributed [-- --rate 20 --count 200] [--rates 20,50,100] [--only all-in-one,1,2]
 *
 * --rates runs every layout at each rate in turn (the highest rate with zero failures is the figure to
 * report). All processes share this machine's cores with SIPp, so the split layouts pay for their extra
 * processes and hops; on one host they show the cost of distribution, not its headroom.
 */

import { assertTools, type ClusterOptions, startCluster } from '../test/helpers/cluster.ts';
import { freePort } from '../test/helpers/sipp.ts';
import { type LoadFigures, percentile, printFigures, runLoad } from './sipp-load.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

interface Layout {
  name: string;
  options: Pick<ClusterOptions, 'mode' | 'engines'>;
}

const LAYOUTS: Record<string, Layout> = {
  'all-in-one': { name: 'all-in-one (pivot serve)', options: { mode: 'all-in-one' } },
  '1': { name: 'split, 1 engine', options: { mode: 'split', engines: 1 } },
  '2': { name: 'split, 2 engines', options: { mode: 'split', engines: 2 } },
};

const count = Number(flag('count', '200'));
const rates = flag('rates', flag('rate', '20')).split(',').map(Number);
const only = flag('only', 'all-in-one,1,2').split(',');
if (!(count > 0) || !rates.every((r) => r > 0) || !only.every((k) => k in LAYOUTS)) {
  console.error('usage: bench/distributed.ts [--rate N | --rates N,M] [--count N] [--only all-in-one,1,2]');
  process.exit(2);
}
assertTools();

/** Events stored twice (same id) or missing from a stream's revisions: must be none. */
function integrity(events: Array<{ id: string; stream: string; revision: number }>): string {
  const ids = new Set<string>();
  let duplicates = 0;
  const revisions = new Map<string, number[]>();
  for (const e of events) {
    if (ids.has(e.id)) duplicates++;
    ids.add(e.id);
    revisions.set(e.stream, [...(revisions.get(e.stream) ?? []), e.revision]);
  }
  let gaps = 0;
  for (const list of revisions.values()) gaps += list.filter((r, i) => r !== i).length;
  return `${events.length} events in ${revisions.size} streams, ${duplicates} duplicated, ${gaps} out of place`;
}

async function run(layout: Layout, rate: number): Promise<LoadFigures | undefined> {
  const carrierPort = await freePort();
  // One SIPp process is one source address sending every call: no per-source limit in a load bench.
  const cluster = await startCluster({ carrierPort, sourceLimit: false, ...layout.options });
  try {
    const figures = await runLoad({
      mode: 'transfer',
      rate,
      count,
      pivot: {
        address: cluster.sipAddress,
        carrierPort,
        events: async () => {
          await cluster.settle({ timeoutMs: 120_000 });
          return cluster.events();
        },
      },
      keep: process.argv.includes('--keep'),
    });
    printFigures(layout.name, figures);
    console.log(`  store: ${integrity(await cluster.events())}`);
    return figures;
  } catch (error) {
    console.log(`\n== ${layout.name}: -r ${rate} failed: ${String(error)}\n${cluster.output({ lines: 20 })}`);
    return undefined;
  } finally {
    await cluster.dispose();
  }
}

const rows: string[] = [];
for (const rate of rates) {
  for (const key of only) {
    const layout = LAYOUTS[key]!;
    const f = await run(layout, rate);
    const failed = f ? f.parties.reduce((sum, p) => sum + (Number.isNaN(p.failed) ? 0 : p.failed), 0) : '-';
    const pick = (values: number[], p: number) => percentile(values, p)?.toFixed(1) ?? 'n/a';
    rows.push(
      [
        layout.name.padEnd(26),
        String(rate).padStart(5),
        f ? `${f.completed}/${count}`.padStart(9) : 'error'.padStart(9),
        String(failed).padStart(7),
        f ? f.achievedPerS.toFixed(1).padStart(10) : '-'.padStart(10),
        f ? pick(f.referTo202, 50).padStart(9) : '-'.padStart(9),
        f ? pick(f.referTo202, 99).padStart(9) : '-'.padStart(9),
        f ? pick(f.referToTargetInvite, 50).padStart(12) : '-'.padStart(12),
        f ? pick(f.referToTargetInvite, 99).padStart(12) : '-'.padStart(12),
      ].join(' '),
    );
  }
}
console.log('\n== summary (latencies in ms, from the SIPp traces)');
console.log(
  `${'layout'.padEnd(26)} ${'rate'.padStart(5)} ${'completed'.padStart(9)} ${'failed'.padStart(7)} ${'achieved/s'.padStart(10)} ${'202 p50'.padStart(9)} ${'202 p99'.padStart(9)} ${'target p50'.padStart(12)} ${'target p99'.padStart(12)}`,
);
for (const row of rows) console.log(row);
// SIPp guard timers of finished runs may still be pending.
process.exit(0);
