/**
 * Status callback delivery latency: `npm run bench:webhooks` (or `npx tsx bench/webhooks.ts`).
 *
 * The real engine (test/projections/drive.ts) appends varied traffic to a SQLite store while the read
 * side follows it live (startProjections: the runner, the webhooks projection and the dispatcher), with
 * every callback event of trunk acme sent to a node:http receiver on this machine. Latency is from
 * the event's append (its `recordedAt`) to the request's arrival at the receiver. BENCH_SESSIONS
 * sessions (default 300), BENCH_PARALLEL engines at a time (default 1), each pausing BENCH_PAUSE_MS
 * (default 200) between each ten sessions: paced traffic measures the pipeline, flat-out traffic the backlog.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProjections } from '../projections/index.ts';
import { STATUS_CALLBACK_EVENTS } from '../src/config/schema.ts';
import { createSqliteEventStore } from '../src/store/sqlite.ts';
import { startTrunkRegistry } from '../src/trunks/registry.ts';
import { billingConfig, createDriver, mixedTraffic } from '../test/projections/drive.ts';

const sessions = Number(process.env.BENCH_SESSIONS ?? 300);
const parallel = Number(process.env.BENCH_PARALLEL ?? 1);
const pauseMs = Number(process.env.BENCH_PAUSE_MS ?? 200);

const arrivals = new Map<number, number>();
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
  });
  req.on('end', () => {
    const at = Date.now();
    // One callback per event and trunk: the event's position identifies it.
    arrivals.set(JSON.parse(body).SequenceNumber, at);
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

const dir = mkdtempSync(join(tmpdir(), 'pivot-bench-webhooks-'));
const config = {
  ...billingConfig(),
  store: { kind: 'sqlite' as const, path: join(dir, 'pivot.db') },
  statusCallbacks: [
    {
      trunk: 'acme',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`,
      events: [...STATUS_CALLBACK_EVENTS],
      secret: 'bench-status-callback-secret',
    },
  ],
};
const store = createSqliteEventStore({ path: config.store.path });
const trunks = await startTrunkRegistry({ store, config, follow: false });
const readSide = await startProjections({ config, store, path: join(dir, 'views.db') });

process.stderr.write(
  `webhooks bench: ${sessions} sessions, ${parallel} engines, ${pauseMs} ms between each ten, ${cpus().length} CPUs\n`,
);
const perWorker = Math.ceil(sessions / parallel);
await Promise.all(
  Array.from({ length: parallel }, async () => {
    const driver = createDriver({ store, config, trunks: trunks.current, start: new Date().toISOString() });
    // Ten sessions cover every kind of call and transfer mixedTraffic makes.
    for (let done = 0; done < perWorker; done += 10) {
      await mixedTraffic(driver, 10);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    await driver.engine.stop();
  }),
);
const head = await store.headPosition();
const views = readSide.db;
const pendingCount = () =>
  (
    views
      .prepare(
        "SELECT (SELECT count(*) FROM webhook_outbox) + (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending') AS n",
      )
      .get() as { n: number }
  ).n;
await readSide.runner.waitFor(head, 600_000);
while (pendingCount() > 0) await new Promise((resolve) => setTimeout(resolve, 20));

const recordedAt = new Map<number, number>();
for (let after = 0; ; ) {
  const page = await store.readAll({ after, maxCount: 5000 });
  if (page.length === 0) break;
  for (const e of page) recordedAt.set(e.position, Date.parse(e.recordedAt));
  after = page.at(-1)!.position;
}
const latencies = [...arrivals].map(([key, at]) => at - recordedAt.get(key)!).sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
const states = views.prepare('SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state').all() as {
  state: string;
  n: number;
}[];
console.log();
console.log(`events: ${head}, callbacks received: ${latencies.length}`);
console.log(`deliveries: ${states.map((s) => `${s.state} ${s.n}`).join(', ')}`);
console.log(
  `append -> received (ms): p50 ${pct(50)}, p90 ${pct(90)}, p99 ${pct(99)}, max ${latencies.at(-1)}, mean ${(
    latencies.reduce((a, b) => a + b, 0) / latencies.length
  ).toFixed(1)}`,
);
await readSide.stop();
await trunks.stop();
await store.close();
await new Promise<void>((resolve) => server.close(() => resolve()));
rmSync(dir, { recursive: true, force: true });
