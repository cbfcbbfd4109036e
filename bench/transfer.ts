/**
 * End-to-end transfer throughput and latency: SIPp places calls at a fixed rate through a pivot running
 * in this process (`startPivot`: SIP adapter, engine, projections and HTTP API; SQLite store in a temp
 * dir, group commit, synchronous=FULL) and blind-transfers each of them (bench/sipp-load.ts says how,
 * and how each figure is taken). `plain` runs the same calls without the transfer.
 *
 *   npm run bench:transfer [-- --rate 20 --count 200 --mode both|transfer|plain] [--types] [--keep] [--no-trace]
 *
 * --types prints the stored event types with their counts; --keep keeps SIPp's traces (on failures).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from '../src/log.ts';
import { startTestPivot } from '../test/e2e/pivot.ts';
import { freePort } from '../test/helpers/sipp.ts';
import { type LoadMode, printFigures, runLoad } from './sipp-load.ts';

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const rate = Number(flag('rate', '20'));
const count = Number(flag('count', '200'));
const modeFlag = flag('mode', 'both');
const modes: LoadMode[] = modeFlag === 'both' ? ['transfer', 'plain'] : [modeFlag as LoadMode];
if (!(rate > 0) || !(count > 0) || !modes.every((m) => m === 'transfer' || m === 'plain')) {
  console.error('usage: bench/transfer.ts [--rate N] [--count N] [--mode both|transfer|plain]');
  process.exit(2);
}

async function run(mode: LoadMode): Promise<void> {
  const warnings = new Map<string, number>();
  const log: Logger = (level, message) => {
    if (level === 'warn' || level === 'error') warnings.set(message, (warnings.get(message) ?? 0) + 1);
  };
  const carrierPort = await freePort();
  // One SIPp process is one source address sending every call: no per-source limit in a load bench.
  // --no-trace: the SIP trace off, to see what recording every message costs.
  const trace = process.argv.includes('--no-trace') ? { trace: { enabled: false } } : {};
  const pivot = await startTestPivot({ carrierPort, log, sourceLimit: false, ...trace });
  try {
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpuBefore = process.cpuUsage();
    const figures = await runLoad({
      mode,
      rate,
      count,
      pivot: { address: pivot.address, carrierPort, events: () => pivot.events() },
      keep: process.argv.includes('--keep'),
    });
    const cpu = process.cpuUsage(cpuBefore);
    loopDelay.disable();
    printFigures(mode, figures);
    console.log(
      `  events stored ${figures.events.length}; pivot CPU ${(((cpu.user + cpu.system) / 1000 / figures.wallMs) * 100).toFixed(0)}% of one core; ` +
        `event loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`,
    );
    if (warnings.size > 0) console.log('  pivot warnings:', Object.fromEntries(warnings));
    if (process.argv.includes('--types')) {
      const types = new Map<string, number>();
      for (const e of figures.events) types.set(e.type, (types.get(e.type) ?? 0) + 1);
      console.log('  event types:', Object.fromEntries(types));
    }
  } finally {
    await pivot.dispose();
  }
}

for (const mode of modes) await run(mode);
// SIPp guard timers of finished runs may still be pending.
process.exit(0);
