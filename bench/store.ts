/**
 * Event store throughput, SQLite and PostgreSQL side by side: `npm run bench:store`.
 *
 * Each append case runs for a fixed time (BENCH_SECONDS, default 3) so the whole run stays short on a
 * small machine; every writer appends to a stream of its own with an exact expected revision, as the
 * engine does for one call. `$all` reads page through everything the append cases wrote.
 *
 * PostgreSQL: PIVOT_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test); the bench creates a
 * throwaway database next to it and drops it at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { EventData, EventStore, ExpectedRevision } from '../src/store/port.ts';
import { createPostgresEventStore } from '../src/store/postgres/index.ts';
import { createSqliteEventStore } from '../src/store/sqlite.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const pgUrl = process.env.PIVOT_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Backend {
  name: string;
  open(): Promise<{ store: EventStore; another(): EventStore; cleanup(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'SQLite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'pivot-bench-'));
    const store = createSqliteEventStore({ path: join(dir, 'events.db') });
    return {
      store,
      another: () => createSqliteEventStore({ path: join(dir, 'events.db') }),
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres: Backend = {
  name: 'PostgreSQL',
  async open() {
    const database = `pivot_bench_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(pgUrl);
    url.pathname = `/${database}`;
    const store = createPostgresEventStore({ url: url.toString(), poolSize: 8 });
    return {
      store,
      another: () => createPostgresEventStore({ url: url.toString(), poolSize: 2 }),
      async cleanup() {
        await store.close();
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await admin.end();
      },
    };
  },
};

interface Case {
  label: string;
  batch: number;
  writers: number;
  /** Each writer on a store instance of its own, as engines in separate processes are. */
  apart?: boolean;
}

const cases: Case[] = [
  { label: 'append 1 event, 1 writer', batch: 1, writers: 1 },
  { label: 'append 1 event, 8 writers', batch: 1, writers: 8 },
  { label: 'append 10 events, 1 writer', batch: 10, writers: 1 },
  { label: 'append 10 events, 8 writers', batch: 10, writers: 8 },
  { label: 'append 1 event, 8 writers on 8 store instances', batch: 1, writers: 8, apart: true },
];

// A payload of the size the engine writes for a SIP input (a few hundred bytes with SDP).
const payload = {
  callSid: `CA${randomUUID().replaceAll('-', '')}`,
  from: 'sip:+15550100000@acme.pstn.pivot.test',
  to: 'sip:+15550100001@acme.pstn.pivot.test',
  sdp: 'v=0\r\no=pivot 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
  statusCode: 200,
};

const newEvents = (count: number): EventData[] =>
  Array.from({ length: count }, () => ({
    id: randomUUID(),
    type: 'TargetAnswered',
    data: payload,
    metadata: { correlationId: randomUUID(), machineVersion: 'bench' },
  }));

async function runAppends(
  store: EventStore,
  another: () => EventStore,
  { batch, writers, apart }: Case,
): Promise<{ appends: number; ms: number }> {
  const stores = Array.from({ length: writers }, () => (apart ? another() : store));
  // Schema checks and connections are not part of the case.
  await Promise.all(stores.map((each) => each.headPosition()));
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let appends = 0;
  await Promise.all(
    stores.map(async (store) => {
      const stream = `call-CA${randomUUID().replaceAll('-', '')}`;
      let expectedRevision: ExpectedRevision = 'no-stream';
      while (performance.now() < deadline) {
        const result = await store.appendToStream(stream, newEvents(batch), { expectedRevision });
        expectedRevision = result.nextExpectedRevision;
        appends++;
      }
    }),
  );
  const ms = performance.now() - started;
  if (apart) await Promise.all(stores.map((each) => each.close()));
  return { appends, ms };
}

async function runReadAll(store: EventStore): Promise<{ events: number; ms: number }> {
  const started = performance.now();
  let events = 0;
  // At least one full pass, and about a second of reading so small stores still give a steady figure.
  do {
    for (let after = 0; ; ) {
      const page = await store.readAll({ after, maxCount: 1000 });
      if (page.length === 0) break;
      events += page.length;
      after = page.at(-1)!.position;
    }
  } while (performance.now() - started < 1000);
  return { events, ms: performance.now() - started };
}

const perSecond = (count: number, ms: number) => Math.round((count * 1000) / ms);

async function measure(backend: Backend): Promise<string[]> {
  const { store, another, cleanup } = await backend.open();
  try {
    await store.headPosition(); // schema creation is not part of any case
    const cells: string[] = [];
    for (const benchCase of cases) {
      const { appends, ms } = await runAppends(store, another, benchCase);
      const rate = perSecond(appends, ms);
      cells.push(benchCase.batch === 1 ? `${rate}` : `${rate} (${rate * benchCase.batch} ev/s)`);
      process.stderr.write(`  ${backend.name}: ${benchCase.label}: ${cells.at(-1)}\n`);
    }
    const stored = await store.headPosition();
    const { events, ms } = await runReadAll(store);
    cells.push(`${perSecond(events, ms)}`);
    process.stderr.write(`  ${backend.name}: read $all (${stored} events): ${cells.at(-1)}\n`);
    return cells;
  } finally {
    await cleanup();
  }
}

const rows = [...cases.map((c) => `${c.label} (appends/s)`), 'read $all, pages of 1000 (events/s)'];
const backends = [sqlite, postgres];
process.stderr.write(`event store bench: ${seconds} s per append case, ${cpus().length} CPUs\n`);
const columns: string[][] = [];
for (const backend of backends) columns.push(await measure(backend));

const widths = [
  Math.max(...rows.map((row) => row.length)),
  ...backends.map((backend, b) => Math.max(backend.name.length, ...columns[b]!.map((cell) => cell.length))),
];
const line = (cells: string[]) =>
  cells.map((cell, k) => (k === 0 ? cell.padEnd(widths[k]!) : cell.padStart(widths[k]!))).join('  ');
console.log();
console.log(line(['', ...backends.map((backend) => backend.name)]));
console.log(line(widths.map((width) => '-'.repeat(width))));
rows.forEach((row, r) => {
  console.log(line([row, ...columns.map((column) => column[r]!)]));
});
