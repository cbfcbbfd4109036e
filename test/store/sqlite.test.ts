import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventData, RecordedEvent } from '../../src/store/port.ts';
import { WrongExpectedVersionError } from '../../src/store/port.ts';
import { createSqliteEventStore, type SqliteEventStore } from '../../src/store/sqlite.ts';
import { describeEventStoreContract } from './contract.ts';

const newTempDir = () => mkdtemp(join(tmpdir(), 'sip-pivot-store-'));

/** Moves the events table away through a second connection, so the store's reads fail until it is back. */
async function renameEvents(path: string): Promise<() => Promise<void>> {
  const other = new Database(path);
  other.exec('ALTER TABLE events RENAME TO events_away');
  return async () => {
    other.exec('ALTER TABLE events_away RENAME TO events');
    other.close();
  };
}

describeEventStoreContract('sqlite', async () => {
  const dir = await newTempDir();
  const store = createSqliteEventStore({ path: join(dir, 'events.db') });
  return {
    store,
    breakReads: () => renameEvents(join(dir, 'events.db')),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeEventStoreContract('sqlite, writer thread', async () => {
  const dir = await newTempDir();
  const store = createSqliteEventStore({ path: join(dir, 'events.db'), writerThread: true });
  return {
    store,
    breakReads: () => renameEvents(join(dir, 'events.db')),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const newEvent = (type = 'CallReceived'): EventData => ({ id: randomUUID(), type, data: {}, metadata: {} });

describe.each([false, true])('sqlite event store (writer thread: %s)', (writerThread) => {
  let dir: string;
  let path: string;
  const opened: SqliteEventStore[] = [];
  const open = (options: { pollIntervalMs?: number } = {}) => {
    const store = createSqliteEventStore({ path, writerThread, ...options });
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await newTempDir();
    // A directory that does not exist yet: the store creates it.
    path = join(dir, 'data', 'nested', 'pivot.db');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the directory and the schema on open, in WAL mode, at schema version 1', async () => {
    const store = open();
    expect(existsSync(path)).toBe(true);
    expect(await store.headPosition()).toBe(0);

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: 1 }]);
    } finally {
      db.close();
    }
  });

  it('numbers positions from 1', async () => {
    const store = open();
    const result = await store.appendToStream('call-CA1', [newEvent(), newEvent()], {
      expectedRevision: 'no-stream',
    });
    expect(result).toEqual({ nextExpectedRevision: 1, position: 2 });
    expect((await store.readAll()).map((event) => event.position)).toEqual([1, 2]);
  });

  it('writes the appends requested in one tick in one transaction', async () => {
    const store = open();
    const before = store.stats();

    const results = await Promise.all([
      ...Array.from({ length: 10 }, () =>
        store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 'any' }),
      ),
      ...Array.from({ length: 10 }, (_, index) =>
        store.appendToStream(`call-CA${index + 2}`, [newEvent()], { expectedRevision: 'no-stream' }),
      ),
    ]);

    expect(results).toHaveLength(20);
    expect(store.stats()).toEqual({ transactions: before.transactions + 1, appends: before.appends + 20 });
    expect(await store.readAll()).toHaveLength(20);

    // Appends of a later tick make a transaction of their own.
    await store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 9 });
    await store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 10 });
    expect(store.stats().transactions).toBe(before.transactions + 3);
  });

  it('fails only the conflicting append of a batch', async () => {
    const store = open();
    await store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 'no-stream' });
    const transactionsBefore = store.stats().transactions;

    const outcomes = await Promise.allSettled([
      store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 0 }),
      store.appendToStream('call-CA1', [newEvent(), newEvent()], { expectedRevision: 0 }),
      store.appendToStream('call-CA2', [newEvent()], { expectedRevision: 'no-stream' }),
      store.appendToStream('call-CA3', [newEvent()], { expectedRevision: 'stream-exists' }),
      store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 1 }),
    ]);

    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect((outcomes[3] as PromiseRejectedResult).reason).toMatchObject({ actual: 'no-stream' });
    expect(store.stats().transactions).toBe(transactionsBefore + 1);
    // The refused two-event append left nothing behind, not even one of its events.
    expect((await store.readStream('call-CA1')).map((event) => event.revision)).toEqual([0, 1, 2]);
    expect((await store.readAll()).map((event) => event.position)).toEqual([1, 2, 3, 4]);
  });

  it('refuses an append that repeats only some stored ids, without failing its batch', async () => {
    const store = open();
    const stored = newEvent();
    await store.appendToStream('call-CA1', [stored], { expectedRevision: 'no-stream' });

    const [partial, duplicateInBatch, other] = await Promise.allSettled([
      store.appendToStream('call-CA1', [stored, newEvent()], { expectedRevision: 'any' }),
      store.appendToStream('call-CA2', [stored, stored], { expectedRevision: 'any' }),
      store.appendToStream('call-CA3', [newEvent()], { expectedRevision: 'no-stream' }),
    ]);

    expect(partial).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/already stored/) },
    });
    expect(duplicateInBatch).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/already stored/) },
    });
    expect(other.status).toBe('fulfilled');
    expect((await store.readAll()).map((event) => event.streamName)).toEqual(['call-CA1', 'call-CA3']);
  });

  it('keeps events across close and reopen, and continues the positions', async () => {
    const first = open();
    const appended = [newEvent('CallReceived'), newEvent('CallEnded')];
    await first.appendToStream('call-CA1', appended, { expectedRevision: 'no-stream' });
    await first.close();

    const second = open();
    expect((await second.readStream('call-CA1')).map((event) => event.id)).toEqual(appended.map((e) => e.id));
    expect(await second.headPosition()).toBe(2);
    // A retry after the restart is still recognised.
    expect(await second.appendToStream('call-CA1', appended, { expectedRevision: 'no-stream' })).toEqual({
      nextExpectedRevision: 1,
      position: 2,
    });
    expect(await second.appendToStream('call-CA1', [newEvent()], { expectedRevision: 1 })).toEqual({
      nextExpectedRevision: 2,
      position: 3,
    });
  });

  it('writes appends already queued when closed, then refuses new ones', async () => {
    const store = open();
    const queued = store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 'no-stream' });
    await store.close();

    await expect(queued).resolves.toEqual({ nextExpectedRevision: 0, position: 1 });
    await expect(store.appendToStream('call-CA1', [newEvent()], { expectedRevision: 0 })).rejects.toThrow(
      /closed/,
    );
    const reopened = open();
    expect(await reopened.headPosition()).toBe(1);
  });

  it('ends live subscriptions on close', async () => {
    const store = open();
    const subscription = store.subscribeToAll();
    const loop = (async () => {
      for await (const _ of subscription) {
        // no events are appended
      }
    })();
    await sleep(20);
    await store.close();
    await expect(loop).resolves.toBeUndefined();
  });

  it("lets a second instance on the same file see the first one's appends by polling", async () => {
    const writer = open();
    const reader = open({ pollIntervalMs: 50 });
    await writer.appendToStream('call-CA1', [newEvent()], { expectedRevision: 'no-stream' });

    const subscription = reader.subscribeToAll();
    const received: RecordedEvent[] = [];
    const loop = (async () => {
      for await (const event of subscription) received.push(event);
    })();
    await waitFor(() => received.length === 1);

    const live = [newEvent('TargetRinging'), newEvent('TargetAnswered')];
    await writer.appendToStream('call-CA1', live, { expectedRevision: 0 });
    await waitFor(() => received.length === 3);
    await subscription.close();
    await loop;

    expect(received.map((event) => event.position)).toEqual([1, 2, 3]);
    expect(received.slice(1).map((event) => event.id)).toEqual(live.map((event) => event.id));
  });

  it('detects conflicts between two instances on the same file', async () => {
    const [one, two] = [open(), open()];
    await one.appendToStream('call-CA1', [newEvent()], { expectedRevision: 'no-stream' });

    const outcomes = await Promise.allSettled([
      one.appendToStream('call-CA1', [newEvent()], { expectedRevision: 0 }),
      two.appendToStream('call-CA1', [newEvent()], { expectedRevision: 0 }),
    ]);

    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await two.readStream('call-CA1')).map((event) => event.revision)).toEqual([0, 1]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}
