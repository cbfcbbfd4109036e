/**
 * Distributed throughput and latency: the same SIPp transfer load (bench/sipp-load.ts) against
 *   - all-in-one: one `pivot serve` process (in-process bus) on PostgreSQL,
 *   - split, 1 engine: `pivot sip` + one `pivot engine` over NATS JetStream, on PostgreSQL,
 *   - split, 2 engines: `pivot sip` + two `pivot engine` processes, same,
 * each a fresh cluster of OS processes (test/helpers/cluster.ts: its own nats-server and database),
 * one after the other in one run, so the figures sit side by side.
 *
 *   npm run bench:distributed [-- --rate 20 --count 200] [--rates 20,50,100] [--only all-in-one,1,2,1p64]
 *
 * A layout `1p64` is one engine over 64 input partitions (`bus.partitions`), `2p64` two engines, ...
 *
 * --rates runs every layout at each rate in turn (the highest rate with zero failures is the figure to
 * report). All processes share this machine's cores with SIPp, so the split layouts pay for their extra
 * processes and hops; on one host they show the cost of distribution, not its headroom.
 *
 * Each run also reports the CPU time of every process per completed transfer: the pivot processes,
 * nats-server and the PostgreSQL backends serving the cluster's database (read from /proc before the
 * load and once the cluster is quiet after it), and the inputs the bus carried per transfer.
 *
 *   --base DIR         also runs each layout from another checkout (its src/cli/main.ts, this
 *                      bench's config and load), labelled "previous", next to this code's: old and new
 *                      code side by side in one run
 *   --cpu-prof DIR     every pivot process writes a V8 CPU profile into DIR when it stops
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { assertTools, type Cluster, type ClusterOptions, startCluster } from '../test/helpers/cluster.ts';
import { freePort } from '../test/helpers/sipp.ts';
import { type LoadFigures, percentile, printFigures, runLoad } from './sipp-load.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

interface Layout {
  name: string;
  options: Pick<ClusterOptions, 'mode' | 'engines' | 'root' | 'partitions'>;
}

/** `all-in-one`, or N engines (`1`, `2`, ...), optionally over P partitions (`1p64`). */
function layoutOf(key: string): Layout | undefined {
  if (key === 'all-in-one') return { name: 'all-in-one (pivot serve)', options: { mode: 'all-in-one' } };
  const match = /^([1-9])(?:p(\d+))?$/.exec(key);
  if (!match) return undefined;
  const engines = Number(match[1]);
  const partitions = match[2] === undefined ? undefined : Number(match[2]);
  return {
    name: `split, ${engines} engine${engines > 1 ? 's' : ''}${partitions ? `, ${partitions} partitions` : ''}`,
    options: { mode: 'split', engines, ...(partitions ? { partitions } : {}) },
  };
}

const count = Number(flag('count', '200'));
const rates = flag('rates', flag('rate', '20')).split(',').map(Number);
const only = flag('only', 'all-in-one,1,2').split(',');
const base = flag('base', '');
const cpuProf = flag('cpu-prof', '');
if (!(count > 0) || !rates.every((r) => r > 0) || !only.every((k) => layoutOf(k) !== undefined)) {
  console.error(
    'usage: bench/distributed.ts [--rate N | --rates N,M] [--count N] [--only all-in-one,1,2,1p64] [--base DIR] [--cpu-prof DIR]',
  );
  process.exit(2);
}
assertTools();

/** The layouts of one rate: the previous code's first when --base is given, each next to this code's. */
function layoutsToRun(): Layout[] {
  return only.flatMap((key) => {
    const layout = layoutOf(key)!;
    // The previous code may not know every setting this code's layouts use.
    if (!base || layout.options.partitions) return [layout];
    const root = path.resolve(base);
    return [{ name: `previous: ${layout.name}`, options: { ...layout.options, root } }, layout];
  });
}

// ---- CPU per process -------------------------------------------------------------------------------

const TICKS_PER_S = 100; // USER_HZ on Linux

/** User + system CPU of a process so far, in ms; undefined once it is gone. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

type CpuSample = Map<string, Map<number, number>>;

/** The PostgreSQL backends connected to the cluster's own database (other databases' work excluded). */
async function backendsOf(cluster: Cluster): Promise<number[]> {
  const client = new pg.Client({ connectionString: cluster.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

async function sampleCpu(cluster: Cluster): Promise<CpuSample> {
  const sample: CpuSample = new Map();
  const put = (label: string, pid: number | undefined) => {
    const ms = cpuMsOf(pid);
    if (ms === undefined || pid === undefined) return;
    if (!sample.has(label)) sample.set(label, new Map());
    sample.get(label)!.set(pid, ms);
  };
  for (const p of cluster.processes()) put(p.role === 'engine' ? `engine #${p.index}` : p.role, p.pid);
  put('nats-server', cluster.nats?.pid);
  for (const pid of await backendsOf(cluster)) put('postgres', pid);
  return sample;
}

/** CPU ms per completed transfer, by process label, between two samples. */
function cpuPerTransfer(before: CpuSample, after: CpuSample, transfers: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [label, pids] of after) {
    let ms = 0;
    for (const [pid, end] of pids) ms += end - (before.get(label)?.get(pid) ?? 0);
    out.set(label, ms / Math.max(1, transfers));
  }
  return out;
}

function formatCpu(cpu: Map<string, number>): string {
  const parts = [...cpu].map(([label, ms]) => `${label} ${ms.toFixed(1)}`);
  const total = [...cpu.values()].reduce((a, b) => a + b, 0);
  return `${parts.join(', ')}; total ${total.toFixed(1)} ms`;
}

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

interface Run {
  figures: LoadFigures;
  cpu: Map<string, number>;
  inputsPerTransfer: number | undefined;
}

async function run(layout: Layout, rate: number): Promise<Run | undefined> {
  const carrierPort = await freePort();
  // One SIPp process is one source address sending every call: no per-source limit in a load bench.
  const nodeArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProf)}`] : [];
  const cluster = await startCluster({ carrierPort, sourceLimit: false, nodeArgs, ...layout.options });
  try {
    const before = await sampleCpu(cluster);
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
    const after = await sampleCpu(cluster);
    const cpu = cpuPerTransfer(before, after, figures.completed);
    const published = cluster.nats ? (await cluster.busStats()).published : undefined;
    const inputsPerTransfer =
      published === undefined ? undefined : published / Math.max(1, figures.completed);
    printFigures(layout.name, figures);
    console.log(`  store: ${integrity(await cluster.events())}`);
    console.log(`  CPU per transfer: ${formatCpu(cpu)}`);
    if (inputsPerTransfer !== undefined) {
      console.log(`  bus: ${published} inputs published, ${inputsPerTransfer.toFixed(1)} per transfer`);
    }
    return { figures, cpu, inputsPerTransfer };
  } catch (error) {
    console.log(`\n== ${layout.name}: -r ${rate} failed: ${String(error)}\n${cluster.output({ lines: 20 })}`);
    return undefined;
  } finally {
    await cluster.dispose();
  }
}

const rows: string[] = [];
const cpuRows: string[] = [];
/** Per layout, the highest rate at which every transfer completed and no SIPp party failed a call. */
const highest = new Map<string, number>();
for (const rate of rates) {
  for (const layout of layoutsToRun()) {
    const result = await run(layout, rate);
    const f = result?.figures;
    const failed = f ? f.parties.reduce((sum, p) => sum + (Number.isNaN(p.failed) ? 1 : p.failed), 0) : '-';
    if (f && failed === 0 && f.completed === count) {
      highest.set(layout.name, Math.max(highest.get(layout.name) ?? 0, rate));
    } else if (!highest.has(layout.name)) highest.set(layout.name, 0);
    const pick = (values: number[], p: number) => percentile(values, p)?.toFixed(1) ?? 'n/a';
    if (result) {
      const inputs =
        result.inputsPerTransfer === undefined
          ? ''
          : ` (${result.inputsPerTransfer.toFixed(1)} inputs/transfer)`;
      cpuRows.push(
        `${layout.name.padEnd(36)} ${String(rate).padStart(5)}  ${formatCpu(result.cpu)}${inputs}`,
      );
    }
    rows.push(
      [
        layout.name.padEnd(36),
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
  `${'layout'.padEnd(36)} ${'rate'.padStart(5)} ${'completed'.padStart(9)} ${'failed'.padStart(7)} ${'achieved/s'.padStart(10)} ${'202 p50'.padStart(9)} ${'202 p99'.padStart(9)} ${'target p50'.padStart(12)} ${'target p99'.padStart(12)}`,
);
for (const row of rows) console.log(row);
console.log('\n== CPU per completed transfer (ms, user + system, from /proc)');
for (const row of cpuRows) console.log(row);
console.log('\n== highest rate with every transfer completed and no failed SIPp call');
for (const [name, rate] of highest) console.log(`${name.padEnd(36)} ${rate > 0 ? `${rate}/s` : 'none'}`);
// SIPp guard timers of finished runs may still be pending.
process.exit(0);
