import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../../src/store/port.ts';
import {
  createPostgresEventStore,
  type PostgresEventStoreOptions,
  schemaNames,
} from '../../src/store/postgres/index.ts';
import { describeEventStoreContract } from './contract.ts';
import type { WriterInput, WriterReport } from './postgres-writer.ts';

// Every run gets its own database (dropped afterwards), so parallel runs and leftovers don't interfere.
const adminUrl = process.env.PIVOT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const database = `pivot_test_${randomBytes(6).toString('hex')}`;
const url = withDatabase(adminUrl, database);
let admin: pg.Client;
/** A connection to this run's database, for looking behind the store's back. */
let db: pg.Client;
let schemaCount = 0;

function withDatabase(base: string, name: string): string {
  const parsed = new URL(base);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  db = new pg.Client({ connectionString: url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
});

/** A store on a schema of its own, so tests in this file don't see each other's events. */
function openStore(options: Partial<PostgresEventStoreOptions> = {}): EventStore & { schema: string } {
  const schema = options.schema ?? `t_${++schemaCount}`;
  return Object.assign(createPostgresEventStore({ url, ...options, schema }), { schema });
}

async function withClient<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

const event = (id: string, data: unknown = { id }) => ({ id, type: 'Tested', data, metadata: {} });

/** Collects a subscription's events in the background. */
function collect(store: EventStore, after = 0) {
  const subscription = store.subscribeToAll({ after });
  const events: RecordedEvent[] = [];
  const done = (async () => {
    for await (const recorded of subscription) events.push(recorded);
  })();
  const until = async (count: number, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (events.length < count) {
      if (Date.now() > deadline) throw new Error(`timed out with ${events.length}/${count} events`);
      await sleep(10);
    }
  };
  const close = async () => {
    await subscription.close();
    await done;
  };
  return { events, until, close };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the store's LISTEN connection has run its LISTEN and waits for notifications. */
async function listening(schema: string, notPids: number[] = []): Promise<void> {
  const { channel } = schemaNames(schema);
  for (;;) {
    const found = await withClient((client) =>
      client.query(
        `SELECT 1 FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'sip-pivot-listen' AND state = 'idle' AND query = $2
           AND NOT (pid = ANY($3::int[]))`,
        [database, `LISTEN "${channel}"`, notPids],
      ),
    );
    if (found.rowCount) return;
    await sleep(20);
  }
}

describeEventStoreContract('PostgreSQL', async () => {
  const store = openStore();
  return {
    store,
    // Moved away behind the store's back, so its reads fail until the table is back.
    breakReads: async () => {
      await db.query(`ALTER TABLE ${store.schema}.events RENAME TO events_away`);
      return async () => {
        await db.query(`ALTER TABLE ${store.schema}.events_away RENAME TO events`);
      };
    },
    cleanup: async () => {
      await store.close();
      await db.query(`DROP SCHEMA IF EXISTS ${store.schema} CASCADE`);
    },
  };
});

describe('PostgreSQL event store: schema', () => {
  it('creates the schema on first use, records its version, and survives concurrent starts', async () => {
    const schema = `t_${++schemaCount}`;
    const stores = [1, 2, 3].map(() => openStore({ schema }));
    await Promise.all(stores.map((store) => store.headPosition()));
    const versions = await withClient((client) =>
      client.query(`SELECT version FROM ${schemaNames(schema).schemaVersion} ORDER BY version`),
    );
    expect(versions.rows.map((row) => row.version)).toEqual([1, 2]);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('rejects a schema name that is not a plain identifier', () => {
    expect(() => createPostgresEventStore({ url, schema: 'x"; DROP TABLE y; --' })).toThrow(/invalid/);
  });
});

describe('PostgreSQL event store: appends', () => {
  it('refuses an append that repeats only some stored ids, and writes nothing', async () => {
    const store = openStore();
    await store.appendToStream('s', [event('e1')], { expectedRevision: 'no-stream' });
    await expect(
      store.appendToStream('s', [event('e1'), event('e2')], { expectedRevision: 'any' }),
    ).rejects.toThrow(/already stored/);
    await expect(
      store.appendToStream('t', [event('x'), event('x')], { expectedRevision: 'any' }),
    ).rejects.toThrow(/already stored/);
    expect((await store.readAll()).map((e) => e.id)).toEqual(['e1']);
    await store.close();
  });

  it('group-commits appends requested together: one transaction, one statement', async () => {
    const store = openStore();
    await store.headPosition();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        store.appendToStream(`g-${k}`, [event(`g${k}-a`), event(`g${k}-b`)], {
          expectedRevision: 'no-stream',
        }),
      ),
    );
    expect(results.map((r) => r.nextExpectedRevision)).toEqual(results.map(() => 1));
    // Rows written by one transaction share its xmin.
    const { rows } = await db.query(
      `SELECT count(DISTINCT xmin::text)::int AS n FROM ${schemaNames(store.schema).events}`,
    );
    expect(rows[0].n).toBeLessThan(20);
    await store.close();
  });

  it('does not fail the other appends of a group when PostgreSQL refuses one of them', async () => {
    const store = openStore();
    await store.headPosition();
    const outcomes = await Promise.allSettled([
      store.appendToStream('ok-1', [event('a')], { expectedRevision: 'no-stream' }),
      // jsonb has no place for U+0000, so the whole statement fails.
      store.appendToStream('bad', [event('b', { text: 'nul \u0000 here' })], {
        expectedRevision: 'no-stream',
      }),
      store.appendToStream('ok-2', [event('c')], { expectedRevision: 'no-stream' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.readAll()).map((e) => e.id)).toEqual(['a', 'c']);
    await store.close();
  });

  it('refuses an empty batch', async () => {
    const store = openStore();
    await expect(store.appendToStream('s', [], { expectedRevision: 'any' })).rejects.toThrow(/at least one/);
    await store.close();
  });
});

describe('PostgreSQL event store: live delivery', () => {
  it('hears appends of another store instance through LISTEN/NOTIFY, without waiting for a poll', async () => {
    // No poll comes during the test: an append is heard through NOTIFY or not at all.
    const reader = openStore({ pollIntervalMs: 3_600_000 });
    const writer = openStore({ schema: reader.schema });
    await writer.appendToStream('s', [event('a')], { expectedRevision: 'no-stream' });
    const live = collect(reader);
    await live.until(1);
    await listening(reader.schema);
    await writer.appendToStream('s', [event('b')], { expectedRevision: 0 });
    await live.until(2, 60_000);
    expect(live.events.map((e) => e.id)).toEqual(['a', 'b']);
    await live.close();
    await Promise.all([reader.close(), writer.close()]);
  });

  it('falls back to polling while the LISTEN connection is down, then reconnects', async () => {
    const store = openStore({ pollIntervalMs: 200 });
    const writer = openStore({ schema: store.schema });
    const live = collect(store);
    await store.appendToStream('s', [event('a')], { expectedRevision: 'no-stream' });
    await live.until(1);
    const killed = await withClient((client) =>
      client.query(
        `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'sip-pivot-listen' AND pid <> pg_backend_pid()`,
        [database],
      ),
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    await writer.appendToStream('s', [event('b')], { expectedRevision: 0 });
    await live.until(2, 60_000);
    // The listener comes back (after its reconnect delay) and LISTENs again, on a new connection.
    await listening(
      store.schema,
      killed.rows.map((row) => row.pid as number),
    );
    await live.close();
    await Promise.all([store.close(), writer.close()]);
  });

  it('ends open subscriptions on close', async () => {
    const store = openStore();
    await store.appendToStream('s', [event('a')], { expectedRevision: 'no-stream' });
    const live = collect(store);
    await live.until(1);
    await store.close();
    await live.close();
    await expect(store.readAll()).rejects.toThrow(/closed/);
  });
});

describe('PostgreSQL event store: gap-free $all', () => {
  it('commits a later append while an earlier one is still open, and shows neither out of order', async () => {
    const store = openStore({ pollIntervalMs: 50 });
    const names = schemaNames(store.schema);
    await store.appendToStream('first', [event('e1')], { expectedRevision: 'no-stream' });
    const live = collect(store);
    await live.until(1);

    await withClient(async (slow) => {
      // An append transaction that is slow to commit: it has drawn position 2 and holds it.
      await slow.query('BEGIN');
      const held = await slow.query(
        `SELECT out_position FROM ${names.appendFunction}(ARRAY['slow'], ARRAY['any'], ARRAY[NULL::bigint], ARRAY[1],
           ARRAY['slow-1'], ARRAY['Slow'],
           ARRAY['{}'::jsonb], ARRAY['{}'::jsonb])`,
      );
      expect(Number(held.rows[0].out_position)).toBe(2);

      // No store-wide lock: the later append commits while the earlier one is still open.
      const fast = await store.appendToStream('fast', [event('fast-1')], { expectedRevision: 'any' });
      expect(fast.position).toBe(3);
      const committed = await withClient((other) =>
        other.query(`SELECT position FROM ${names.events} ORDER BY position`),
      );
      expect(committed.rows.map((row) => Number(row.position))).toEqual([1, 3]);

      // Readers do not show position 3 above the hole the open append may still fill.
      expect(await store.readAll({ after: 1 })).toEqual([]);
      expect(await store.headPosition()).toBe(1);
      await slow.query('COMMIT');
    });

    await live.until(3);
    expect(live.events.map((e) => [e.position, e.id])).toEqual([
      [1, 'e1'],
      [2, 'slow-1'],
      [3, 'fast-1'],
    ]);
    expect(await store.headPosition()).toBe(3);
    await live.close();
    await store.close();
  });

  it('readers polling during concurrent appends only ever see a contiguous prefix', async () => {
    const store = openStore({ poolSize: 10, pollIntervalMs: 20 });
    const writers = 8;
    const appendsPerWriter = 40;
    const total = writers * appendsPerWriter;
    const live = collect(store);

    let polling = true;
    const seen: number[] = [];
    const poller = (async () => {
      let checkpoint = 0;
      while (polling || checkpoint < total) {
        for (const recorded of await store.readAll({ after: checkpoint })) {
          seen.push(recorded.position);
          checkpoint = recorded.position;
        }
      }
    })();

    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < appendsPerWriter; i++) {
          await store.appendToStream(`w-${w}`, [event(`w${w}-${i}`)], { expectedRevision: 'any' });
        }
      }),
    );
    polling = false;
    await poller;
    await live.until(total);

    // No append failed, so there are no holes either: every position 1..total, each once, in order.
    const expected = Array.from({ length: total }, (_, k) => k + 1);
    expect(seen).toEqual(expected);
    expect(live.events.map((e) => e.position)).toEqual(expected);
    await live.close();
    await store.close();
  });
});

describe('PostgreSQL event store: two processes', () => {
  it('keeps every event exactly once with contiguous revisions when two processes race on the same streams', async () => {
    const store = openStore();
    await store.headPosition(); // migrate once here, so the children start on an existing schema
    const streams = ['race-a', 'race-b'];
    const script = fileURLToPath(new URL('./postgres-writer.ts', import.meta.url));
    const inputs: WriterInput[] = ['p1', 'p2'].map((writer) => ({
      url,
      schema: store.schema,
      writer,
      streams,
      appends: 60,
      loops: 2,
    }));

    const children = inputs.map((input) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(input)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const ready = (async () => {
        while (!stdout.includes('ready\n')) {
          if (child.exitCode !== null) throw new Error(`writer exited early: ${stderr}`);
          await sleep(20);
        }
      })();
      const exited = new Promise<WriterReport>((resolve, reject) => {
        child.on('close', (code) => {
          if (code !== 0) return reject(new Error(`writer exited with ${code}: ${stderr}`));
          const last = stdout.trim().split('\n').at(-1) ?? '';
          resolve(JSON.parse(last) as WriterReport);
        });
      });
      return { child, ready, exited };
    });

    await Promise.all(children.map((c) => c.ready));
    for (const { child } of children) child.stdin.end('go\n');
    const reports = await Promise.all(children.map((c) => c.exited));

    for (const report of reports) expect(report.otherErrors).toEqual([]);
    const conflicts = reports.reduce((sum, report) => sum + report.conflicts, 0);
    expect(conflicts).toBeGreaterThan(0);

    const appended = reports.flatMap((report) => report.appended);
    const ids = appended.flatMap((a) => a.ids);
    expect(ids).toHaveLength(2 * 2 * 60 * 1.5);

    const stored: RecordedEvent[] = [];
    for (const stream of streams) {
      const events = await store.readStream(stream);
      // Revisions 0..n-1 with nothing skipped or doubled.
      expect(events.map((e) => e.revision)).toEqual(events.map((_, k) => k));
      stored.push(...events);
    }
    expect(stored.map((e) => e.id).sort()).toEqual([...ids].sort());
    // Each writer was told the revision its batch really got.
    const byId = new Map(stored.map((e) => [e.id, e]));
    for (const a of appended) {
      expect(byId.get(a.ids.at(-1)!)?.revision).toBe(a.nextExpectedRevision);
      expect(byId.get(a.ids[0]!)?.streamName).toBe(a.stream);
    }
    const all = await store.readAll();
    expect(all).toHaveLength(ids.length);
    expect(all.map((e) => e.position)).toEqual([...all.map((e) => e.position)].sort((a, b) => a - b));
    console.info(`two processes: ${ids.length} events, ${conflicts} conflicts retried`);
    await store.close();
  }, 60_000);
});
