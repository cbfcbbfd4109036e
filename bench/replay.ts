/**
 * Replay throughput: fills a temporary SQLite store with complete blind transfers driven through the
 * engine, then measures how fast sessions are rebuilt from their events (the same fold the engine does
 * on load and `pivot replay --check` does for every call).
 *
 *   npm run bench:replay [-- --transfers 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/engine/engine.ts';
import { loadSession } from '../src/engine/load.ts';
import { checkAll } from '../src/engine/replay.ts';
import type { SipCommand } from '../src/shared/messages.ts';
import { createSqliteEventStore } from '../src/store/sqlite.ts';
import { driveTransfer } from '../test/helpers/driveTransfer.ts';
import { testConfig } from '../test/helpers/sipInputs.ts';

const countFlag = process.argv.indexOf('--transfers');
const transfers = countFlag > 0 ? Number(process.argv[countFlag + 1]) : 2000;
const dir = mkdtempSync(join(tmpdir(), 'pivot-bench-replay-'));
const store = createSqliteEventStore({ path: join(dir, 'pivot.db') });

try {
  // One engine per concurrent driver (each keeps the commands it sent); they share the store, so
  // their appends meet in the store's group commit as concurrent calls do in production.
  const batch = 50;
  const config = testConfig();
  const drivers = Array.from({ length: batch }, () => {
    const sent: SipCommand[] = [];
    return { sent, engine: createEngine({ store, config, send: (c) => sent.push(c) }) };
  });
  const sessions: string[] = [];
  const fillStart = performance.now();
  for (let i = 0; i < transfers; i += batch) {
    const driven = await Promise.all(
      drivers.slice(0, Math.min(batch, transfers - i)).map(({ engine, sent }) => {
        sent.length = 0;
        return driveTransfer(engine, sent);
      }),
    );
    sessions.push(...driven.map((d) => d.rootCallSid));
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  await Promise.all(drivers.map(({ engine }) => engine.stop()));
  const events = await store.headPosition();

  // CPU seconds next to wall seconds: on a shared machine the process's own CPU time is the steadier one.
  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1e6;
  };
  const loadStart = performance.now();
  const loadCpu = process.cpuUsage();
  for (const sid of sessions) await loadSession(store, sid);
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const loadCpuSeconds = cpuSeconds(loadCpu);

  const checkStart = performance.now();
  const checkCpu = process.cpuUsage();
  const check = await checkAll(store);
  const checkSeconds = (performance.now() - checkStart) / 1000;
  const checkCpuSeconds = cpuSeconds(checkCpu);

  const rows = [
    [
      'engine: complete transfers through the engine',
      `${(transfers / fillSeconds).toFixed(0)} transfers/s`,
      `${(events / fillSeconds).toFixed(0)} events/s`,
    ],
    [
      'load: read stream + fold per session',
      `${(sessions.length / loadSeconds).toFixed(0)} sessions/s`,
      `${(events / loadSeconds).toFixed(0)} events/s`,
    ],
    [
      'replay --check: $all + fold + compare',
      `${(check.sessions / checkSeconds).toFixed(0)} sessions/s`,
      `${(check.events / checkSeconds).toFixed(0)} events/s`,
    ],
    ['load, per CPU second', '', `${(events / loadCpuSeconds).toFixed(0)} events/s`],
    ['replay --check, per CPU second', '', `${(check.events / checkCpuSeconds).toFixed(0)} events/s`],
  ];
  console.log(
    `${transfers} transfers, ${events} events, ${check.mismatches.length} mismatches (SQLite, synchronous=FULL)`,
  );
  for (const [what, a, b] of rows) console.log(`${what!.padEnd(48)} ${a!.padStart(18)} ${b!.padStart(18)}`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
