import { randomUUID } from 'node:crypto';
import {
  ANY,
  DeadlineExceededError,
  EventStoreDBClient as EsdbClient,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  jsonEvent,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
} from '@eventstore/db-client';
import { describe, expect, it, vi } from 'vitest';
import { appendToStream, createSentIds } from '../../src/store/eventstoredb/append.ts';
import { eventStoreOn } from '../../src/store/eventstoredb/createEventStoreDbStore.ts';
import { createEventStoreDbStore } from '../../src/store/eventstoredb/index.ts';
import {
  fromEsdbCurrentRevision,
  fromEsdbMetadata,
  fromEsdbRecordedEvent,
  isEsdbWrongExpectedVersion,
  isStreamNotFound,
  isSystemEvent,
  positionToNumber,
  toEsdbEvent,
  toEsdbExpectedRevision,
  toEsdbMetadata,
  toReadPosition,
  toWrongExpectedVersion,
} from '../../src/store/eventstoredb/mapping.ts';
import { countEvents, headPosition, readAll, readStream } from '../../src/store/eventstoredb/read.ts';
import { adaptSubscription } from '../../src/store/eventstoredb/subscription.ts';
import { type EventData, type RecordedEvent, WrongExpectedVersionError } from '../../src/store/port.ts';
import { describeEventStoreContract } from './contract.ts';
import { esdbEvent, FakeLog, FakeSubscription, newEvent, resolved } from './eventstoredb-fakes.ts';

/*
 * The contract suite against a server and the server tests need a running EventStoreDB:
 *   docker compose up -d eventstore
 *   EVENTSTORE_URL='esdb://localhost:2113?tls=false' npx vitest run test/store/eventstoredb.test.ts
 * Without EVENTSTORE_URL they are skipped; the contract over a fake client and the mapping, read,
 * append and subscription tests below run everywhere.
 */
const url = process.env.EVENTSTORE_URL;

describe.skipIf(!url)('EventStoreDB server', () => {
  // The contract names every stream with a fresh UUID, so runs against one server never share a stream.
  describeEventStoreContract('EventStoreDB', async () => {
    const store = createEventStoreDbStore({ url: url! });
    return { store, cleanup: () => store.close() };
  });

  /** Streams of this run's own tests start with this. */
  const run = `pivot-test-${randomUUID().replaceAll('-', '')}`;
  const event = (type = 'Tested', metadata = {}): EventData => ({
    id: randomUUID(),
    type,
    data: { type },
    metadata,
  });

  it('keeps system events out of readAll, headPosition and subscriptions', async () => {
    const store = createEventStoreDbStore({ url: url! });
    const raw = EsdbClient.connectionString(url!);
    try {
      const start = await store.headPosition();
      const app = await store.appendToStream(`${run}-a`, [event()], { expectedRevision: 'no-stream' });
      // A $-type event in an application stream, and an ordinary type in a $-stream (insecure node).
      await raw.appendToStream(`${run}-a`, jsonEvent({ type: '$pivot-test', data: {} }));
      await raw.appendToStream(`$${run}-sys`, jsonEvent({ type: 'Tested', data: {} }));

      expect((await store.readAll({ after: start })).map((e) => e.position)).toEqual([app.position]);
      expect(await store.headPosition()).toBe(app.position);

      const subscription = store.subscribeToAll({ after: start });
      const marker = event('Marker');
      await store.appendToStream(`${run}-b`, [marker], { expectedRevision: 'no-stream' });
      const seen: string[] = [];
      for await (const recorded of subscription) {
        seen.push(recorded.streamName);
        if (recorded.id === marker.id) break;
      }
      expect(seen).toEqual([`${run}-a`, `${run}-b`]);
    } finally {
      await raw.dispose();
      await store.close();
    }
  });

  it('stores correlation and causation ids as $correlationId and $causationId', async () => {
    const store = createEventStoreDbStore({ url: url! });
    const raw = EsdbClient.connectionString(url!);
    try {
      const stream = `${run}-meta`;
      const appended = event('Tested', {
        correlationId: 'corr-1',
        causationId: 'cause-1',
        machineVersion: 'v1',
      });
      await store.appendToStream(stream, [appended], { expectedRevision: 'no-stream' });
      const stored: unknown[] = [];
      for await (const resolved of raw.readStream(stream)) stored.push(resolved.event?.metadata);
      expect(stored).toEqual([{ $correlationId: 'corr-1', $causationId: 'cause-1', machineVersion: 'v1' }]);
      expect((await store.readStream(stream))[0]!.metadata).toEqual(appended.metadata);
    } finally {
      await raw.dispose();
      await store.close();
    }
  });

  it('ends open subscriptions on close and refuses calls afterwards', async () => {
    const store = createEventStoreDbStore({ url: url! });
    const subscription = store.subscribeToAll({ after: await store.headPosition() });
    const done = (async () => {
      for await (const _ of subscription) {
        // nothing is appended
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await store.close();
    await expect(done).resolves.toBeUndefined();
    await expect(store.readAll()).rejects.toThrow(/closed/);
  });
});

// The whole contract, re-appends included, through the store as the CLI builds it, over a fake client
// that applies the server's idempotency rules: it runs everywhere, without a server.
describeEventStoreContract('EventStoreDB over a fake client', async () => {
  const store = eventStoreOn(new FakeLog({ serverIdempotency: true }).client());
  return { store, cleanup: () => store.close() };
});

// ---------------------------------------------------------------------------------------------------
// Mapping (pure).

describe('EventStoreDB mapping: expected revisions', () => {
  it('maps each expected revision to the client constant or a bigint', () => {
    expect(toEsdbExpectedRevision('no-stream')).toBe(NO_STREAM);
    expect(toEsdbExpectedRevision('stream-exists')).toBe(STREAM_EXISTS);
    expect(toEsdbExpectedRevision('any')).toBe(ANY);
    expect(toEsdbExpectedRevision(0)).toBe(0n);
    expect(toEsdbExpectedRevision(41)).toBe(41n);
  });

  it('refuses revisions that are not whole numbers >= 0', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => toEsdbExpectedRevision(bad)).toThrow(TypeError);
    }
  });

  it("maps the client's current revision back, 'no_stream' to 'no-stream'", () => {
    expect(fromEsdbCurrentRevision(NO_STREAM)).toBe('no-stream');
    expect(fromEsdbCurrentRevision(0n)).toBe(0);
    expect(fromEsdbCurrentRevision(12n)).toBe(12);
  });
});

describe('EventStoreDB mapping: errors', () => {
  const esdbConflict = (current: bigint | typeof NO_STREAM) =>
    new EsdbWrongExpectedVersionError(undefined, { streamName: 'call-CA1', expected: NO_STREAM, current });

  it("turns the client's wrong-expected-version error into ours with the actual revision", () => {
    const error = toWrongExpectedVersion('call-CA1', 'no-stream', esdbConflict(3n));
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({
      name: 'WrongExpectedVersionError',
      streamName: 'call-CA1',
      expected: 'no-stream',
      actual: 3,
    });
    expect(toWrongExpectedVersion('call-CA1', 4, esdbConflict(NO_STREAM))).toMatchObject({
      expected: 4,
      actual: 'no-stream',
    });
  });

  it('recognises the client errors it handles and nothing else', () => {
    expect(isEsdbWrongExpectedVersion(esdbConflict(1n))).toBe(true);
    expect(isEsdbWrongExpectedVersion(new Error('wrong-expected-version'))).toBe(false);
    expect(isEsdbWrongExpectedVersion(new StreamNotFoundError(undefined, 's'))).toBe(false);
    expect(isEsdbWrongExpectedVersion(undefined)).toBe(false);
    expect(isStreamNotFound(new StreamNotFoundError(undefined, 's'))).toBe(true);
    expect(isStreamNotFound(esdbConflict(1n))).toBe(false);
  });
});

describe('EventStoreDB mapping: metadata', () => {
  it('stores correlationId and causationId as $correlationId and $causationId, the rest as is', () => {
    const stored = toEsdbMetadata({
      correlationId: 'c1',
      causationId: 'k1',
      machineVersion: 'call@1',
      retries: 0,
    });
    expect(stored).toEqual({
      $correlationId: 'c1',
      $causationId: 'k1',
      machineVersion: 'call@1',
      retries: 0,
    });
    expect(toEsdbMetadata({ machineVersion: 'call@1' })).toEqual({ machineVersion: 'call@1' });
  });

  it('reads $correlationId and $causationId back as correlationId and causationId', () => {
    const metadata = { correlationId: 'c1', causationId: 'k1', machineVersion: 'call@1', nested: { a: [1] } };
    expect(fromEsdbMetadata(toEsdbMetadata(metadata))).toEqual(metadata);
    expect(fromEsdbMetadata({ $correlationId: 'c2', other: true })).toEqual({
      correlationId: 'c2',
      other: true,
    });
  });

  it('reads missing or non-object metadata as {}', () => {
    expect(fromEsdbMetadata(undefined)).toEqual({});
    expect(fromEsdbMetadata(new Uint8Array([1, 2]))).toEqual({});
    expect(fromEsdbMetadata(['x'])).toEqual({});
    expect(fromEsdbMetadata('text')).toEqual({});
  });

  it('builds a JSON event with the id, type, data and mapped metadata', () => {
    const id = randomUUID();
    expect(
      toEsdbEvent({ id, type: 'CallReceived', data: { a: 1 }, metadata: { correlationId: 'c' } }),
    ).toEqual({
      id,
      contentType: 'application/json',
      type: 'CallReceived',
      data: { a: 1 },
      metadata: { $correlationId: 'c' },
    });
    expect(toEsdbEvent({ id, type: 'T', data: undefined, metadata: {} }).data).toBeNull();
  });
});

describe('EventStoreDB mapping: positions', () => {
  it('uses the commit position as the number', () => {
    expect(positionToNumber({ commit: 12_345n, prepare: 12_345n })).toBe(12_345);
    expect(positionToNumber({ commit: 2n ** 53n - 1n, prepare: 0n })).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('throws instead of rounding past 2^53 - 1, and on the -1 / 2^64 - 1 "no position" marker', () => {
    expect(() => positionToNumber({ commit: 2n ** 53n, prepare: 2n ** 53n })).toThrow(RangeError);
    expect(() => positionToNumber({ commit: 2n ** 64n - 1n, prepare: 0n })).toThrow(RangeError);
    expect(() => positionToNumber({ commit: -1n, prepare: -1n })).toThrow(RangeError);
  });

  it('resumes from START for 0 and from the event position pair otherwise', () => {
    expect(toReadPosition(0)).toBe(START);
    expect(toReadPosition(4_242)).toEqual({ commit: 4_242n, prepare: 4_242n });
    expect(() => toReadPosition(-1)).toThrow(TypeError);
    expect(() => toReadPosition(0.5)).toThrow(TypeError);
  });
});

describe('EventStoreDB mapping: recorded events', () => {
  it('converts a recorded event, metadata and time included', () => {
    const recorded = esdbEvent({ stream: 'call-CA1', revision: 2, position: 900, type: 'CallAnswered' });
    expect(fromEsdbRecordedEvent(recorded)).toEqual({
      id: recorded.id,
      type: 'CallAnswered',
      data: { n: 2 },
      metadata: { correlationId: 'corr', machineVersion: 'v1' },
      streamName: 'call-CA1',
      revision: 2,
      position: 900,
      recordedAt: '2025-01-02T03:04:05.678Z',
    });
  });

  it('refuses an event without a $all position (server older than 22.6)', () => {
    const recorded = { ...esdbEvent({ stream: 's', revision: 0, position: 1 }), position: undefined };
    expect(() => fromEsdbRecordedEvent(recorded)).toThrow(/position/);
  });

  it('treats $-types and $-streams as system events', () => {
    expect(isSystemEvent({ type: '$>', streamId: '$ce-call' })).toBe(true);
    expect(isSystemEvent({ type: '$statsCollected', streamId: 'call-CA1' })).toBe(true);
    expect(isSystemEvent({ type: 'CallReceived', streamId: '$projections-x' })).toBe(true);
    expect(isSystemEvent({ type: 'CallReceived', streamId: 'call-CA1' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------
// Reads, appends and subscriptions against a fake client.

describe('EventStoreDB reads (fake client)', () => {
  it('reads a stream, and a missing stream as []', async () => {
    const log = new FakeLog();
    log.add('s', 3);
    const client = log.client();
    expect((await readStream(client, 's', { fromRevision: 1 })).map((e) => e.revision)).toEqual([1, 2]);
    expect((await readStream(client, 's', { maxCount: 2 })).map((e) => e.revision)).toEqual([0, 1]);
    expect(await readStream(client, 's', { maxCount: 0 })).toEqual([]);
    expect(await readStream(client, 'missing')).toEqual([]);
  });

  it('reads $all strictly after a position, without system events, at most maxCount', async () => {
    const log = new FakeLog();
    log.add('a', 2); // positions 100, 200
    log.add('$stats', 1, '$statsCollected'); // 300
    log.add('b', 1, '$>'); // 400
    log.add('c', 2); // 500, 600
    const client = log.client();
    const ids = async (options: { after?: number; maxCount?: number }) =>
      (await readAll(client, options)).map((e) => e.position);

    expect(await ids({})).toEqual([100, 200, 500, 600]);
    expect(await ids({ after: 200 })).toEqual([500, 600]);
    expect(await ids({ after: 100, maxCount: 2 })).toEqual([200, 500]);
    expect(await ids({ after: 600 })).toEqual([]);
    expect(log.lastReadAllFrom).toEqual({ commit: 600n, prepare: 600n });
    expect(log.cancelled).toBeGreaterThan(0);
  });

  it('finds the head position past trailing system events, 0 when there are only system events', async () => {
    const log = new FakeLog();
    log.add('$settings', 1, '$settings');
    expect(await headPosition(log.client())).toBe(0);
    log.add('a', 2);
    log.add('$stats', 2, '$statsCollected');
    expect(await headPosition(log.client())).toBe(300);
  });

  it('counts the application events between two positions (byte offsets), not their difference', async () => {
    const log = new FakeLog();
    log.add('a', 2); // positions 100, 200
    log.add('$stats', 1, '$statsCollected'); // 300
    log.add('c', 3); // 400, 500, 600
    const client = log.client();
    expect(await countEvents(client, 0, 600)).toBe(5);
    expect(await countEvents(client, 200, 600)).toBe(3);
    expect(await countEvents(client, 100, 400)).toBe(2);
    expect(await countEvents(client, 600, 600)).toBe(0);
  });
});

describe('EventStoreDB append (fake client)', () => {
  const batch = (count: number) => Array.from({ length: count }, () => newEvent());

  it('passes the mapped expected revision and returns revision and commit position', async () => {
    const log = new FakeLog();
    const client = log.client();
    const events = batch(2);
    expect(await appendToStream(client, 's', events, 'no-stream')).toEqual({
      nextExpectedRevision: 1,
      position: 200,
    });
    expect(log.appendCalls.at(-1)).toMatchObject({ stream: 's', expectedRevision: NO_STREAM });
    expect(log.appendCalls.at(-1)!.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    await appendToStream(client, 's', batch(1), 1);
    expect(log.appendCalls.at(-1)).toMatchObject({ expectedRevision: 1n });
  });

  it("throws the port's WrongExpectedVersionError with the actual revision", async () => {
    const log = new FakeLog();
    log.add('s', 2);
    const client = log.client();
    await expect(appendToStream(client, 's', batch(1), 0)).rejects.toMatchObject({
      name: 'WrongExpectedVersionError',
      streamName: 's',
      expected: 0,
      actual: 1,
    });
    await expect(appendToStream(client, 'new', batch(1), 'stream-exists')).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    await expect(appendToStream(client, 'new', batch(1), 3)).rejects.toMatchObject({ actual: 'no-stream' });
  });

  it('returns the original result when a conflicting retry finds its ids right after the expected revision', async () => {
    const log = new FakeLog({ serverIdempotency: false });
    const client = log.client();
    const first = batch(2);
    const original = await appendToStream(client, 's', first, 'no-stream');
    await appendToStream(client, 's', batch(1), 1);
    expect(await appendToStream(client, 's', first, 'no-stream')).toEqual(original);
    expect(log.stored('s')).toHaveLength(3);
    // The same ids elsewhere are no excuse for a different expected revision.
    await expect(appendToStream(client, 's', first, 1)).rejects.toBeInstanceOf(WrongExpectedVersionError);
  });

  it('reads the position back when the server answers an idempotent write without one', async () => {
    const log = new FakeLog({ serverIdempotency: true });
    const client = log.client();
    const first = batch(2);
    const original = await appendToStream(client, 's', first, 'no-stream');
    await appendToStream(client, 's', batch(1), 1);
    expect(await appendToStream(client, 's', first, 'no-stream')).toEqual(original);
    expect(log.lastAppendResult?.position).toBeUndefined();
  });

  it('reads the position back when the server reports -1 (2^64 - 1) for an idempotent write', async () => {
    const log = new FakeLog({ serverIdempotency: true, idempotentPosition: 'minus-one' });
    const client = log.client();
    const first = batch(2);
    const original = await appendToStream(client, 's', first, 'no-stream');
    expect(await appendToStream(client, 's', first, 'no-stream')).toEqual(original);
    expect(log.lastAppendResult?.position?.commit).toBe(2n ** 64n - 1n);
  });

  it("looks for the ids before an 'any' or 'stream-exists' append and writes nothing when all are stored", async () => {
    const log = new FakeLog();
    const client = log.client();
    const first = batch(2);
    const original = await appendToStream(client, 's', first, 'any');
    await appendToStream(client, 's', batch(3), 'any');
    const calls = log.appendCalls.length;

    expect(await appendToStream(client, 's', first, 'any')).toEqual(original);
    expect(await appendToStream(client, 's', [first[0]!], 'stream-exists')).toEqual({
      nextExpectedRevision: 0,
      position: 100,
    });
    expect(log.appendCalls.length).toBe(calls);
    expect(log.stored('s')).toHaveLength(5);
  });

  it('refuses a batch that repeats only some stored ids, or one id twice, and writes nothing', async () => {
    const log = new FakeLog();
    const client = log.client();
    const [a] = batch(1);
    await appendToStream(client, 's', [a!], 'no-stream');
    await expect(appendToStream(client, 's', [a!, newEvent()], 'any')).rejects.toThrow(/already stored/);
    const twice = newEvent();
    await expect(appendToStream(client, 't', [twice, twice], 'no-stream')).rejects.toThrow(/already stored/);
    await expect(appendToStream(client, 't', [], 'any')).rejects.toThrow(TypeError);
    expect(log.appendCalls).toHaveLength(1);
  });
});

describe('EventStoreDB append: retries of batches the store sent (fake client, server rules)', () => {
  const batch = (count: number) => Array.from({ length: count }, () => newEvent());
  const ids = (events: { id: string }[]) => events.map((event) => event.id);

  it('the server alone stores a batch twice when it is sent again at the revision it produced', async () => {
    // Why the store remembers what it sent: without that, nothing stops this on a live server.
    const log = new FakeLog({ serverIdempotency: true });
    const client = log.client();
    const first = batch(2);
    await appendToStream(client, 's', first, 'no-stream');
    await appendToStream(client, 's', first, 1);
    expect(ids(log.stored('s'))).toEqual([...ids(first), ...ids(first)]);
  });

  it('writes nothing when a stored batch, or its last part, is sent again at the revision it produced', async () => {
    const log = new FakeLog({ serverIdempotency: true });
    const client = log.client();
    const sent = createSentIds();
    const [a, b] = batch(2);
    const original = await appendToStream(client, 's', [a!, b!], 'no-stream', sent);

    expect(await appendToStream(client, 's', [a!, b!], original.nextExpectedRevision, sent)).toEqual(
      original,
    );
    expect(await appendToStream(client, 's', [b!], 1, sent)).toEqual(original);
    expect(await appendToStream(client, 's', [a!, b!], 'no-stream', sent)).toEqual(original);
    expect(ids(log.stored('s'))).toEqual([a!.id, b!.id]);
    expect(log.appendCalls).toHaveLength(1);
  });

  it('after a lost reply, a retry at the revision the first try produced writes nothing', async () => {
    const log = new FakeLog({ serverIdempotency: true });
    const client = log.client();
    const sent = createSentIds();
    const first = batch(2);
    log.failNextAppend = 'after-writing';
    await expect(appendToStream(client, 's', first, 'no-stream', sent)).rejects.toBeInstanceOf(
      DeadlineExceededError,
    );
    expect(log.stored('s')).toHaveLength(2);

    // A writer that reloads the stream sees revision 1; one that does not retries with 'no-stream'.
    const original = { nextExpectedRevision: 1, position: 200 };
    expect(await appendToStream(client, 's', first, 1, sent)).toEqual(original);
    expect(await appendToStream(client, 's', first, 'no-stream', sent)).toEqual(original);
    const next = batch(1);
    expect(await appendToStream(client, 's', next, 1, sent)).toEqual({
      nextExpectedRevision: 2,
      position: 300,
    });
    expect(ids(log.stored('s'))).toEqual([...ids(first), ...ids(next)]);
  });

  it('appends a sent batch the server never stored, reading back no further than its first try could reach', async () => {
    const log = new FakeLog({ serverIdempotency: true });
    log.add('s', 5);
    const client = log.client();
    const sent = createSentIds();
    const retried = batch(1);
    log.failNextAppend = 'before-writing';
    await expect(appendToStream(client, 's', retried, 4, sent)).rejects.toBeInstanceOf(UnavailableError);
    const cancelled = log.cancelled;

    expect(await appendToStream(client, 's', retried, 4, sent)).toEqual({
      nextExpectedRevision: 5,
      position: 600,
    });
    expect(log.streamReads).toBe(1);
    // The backwards read stopped below revision 5 instead of running through the stream.
    expect(log.cancelled).toBe(cancelled + 1);
    expect(log.stored('s').at(-1)!.id).toBe(retried[0]!.id);
  });

  it('sends new ids at once: one round trip, no read', async () => {
    const log = new FakeLog({ serverIdempotency: true });
    const client = log.client();
    const sent = createSentIds();
    await appendToStream(client, 's', batch(2), 'no-stream', sent);
    await appendToStream(client, 's', batch(3), 1, sent);
    expect(await appendToStream(client, 's', batch(1), 4, sent)).toEqual({
      nextExpectedRevision: 5,
      position: 600,
    });
    expect(log.streamReads).toBe(0);
    expect(log.appendCalls).toHaveLength(3);
  });

  it('refuses a batch whose ids are partly stored, and writes nothing', async () => {
    const log = new FakeLog({ serverIdempotency: true });
    const client = log.client();
    const sent = createSentIds();
    const [a, b] = batch(2);
    await appendToStream(client, 's', [a!, b!], 'no-stream', sent);
    await expect(appendToStream(client, 's', [b!, newEvent()], 1, sent)).rejects.toThrow(/already stored/);
    expect(ids(log.stored('s'))).toEqual([a!.id, b!.id]);
  });

  it('keeps streams apart: an id sent to another stream is no retry here', async () => {
    const log = new FakeLog({ serverIdempotency: true });
    const client = log.client();
    const sent = createSentIds();
    const shared = batch(1);
    await appendToStream(client, 'a', shared, 'no-stream', sent);
    await appendToStream(client, 'b', shared, 'no-stream', sent);
    expect(ids(log.stored('b'))).toEqual(ids(shared));
    expect(log.streamReads).toBe(0);
  });
});

describe('EventStoreDB subscription adapter (fake source)', () => {
  it('delivers application events after the checkpoint once each, in order', async () => {
    const source = new FakeSubscription();
    const subscription = adaptSubscription(source, 200);
    source.push(resolved('a', 0, 200)); // the start event, replayed: dropped
    source.push(resolved('a', 1, 300));
    source.push(resolved('$stats', 0, 350, '$statsCollected'));
    source.push(resolved('b', 0, 400));
    source.push(resolved('b', 0, 400)); // a repeat: dropped
    source.push(resolved('b', 1, 500));

    const seen: number[] = [];
    for await (const event of subscription) {
      seen.push(event.position);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([300, 400, 500]);
    expect(source.unsubscribed).toBe(1);
  });

  it('ends a waiting for-await on close, unsubscribes once and reports it', async () => {
    const source = new FakeSubscription();
    const onClose = vi.fn();
    const subscription = adaptSubscription(source, 0, onClose);
    const seen: RecordedEvent[] = [];
    const done = (async () => {
      for await (const event of subscription) seen.push(event);
    })();
    source.push(resolved('a', 0, 100));
    await vi.waitFor(() => expect(seen).toHaveLength(1));

    await subscription.close();
    await expect(done).resolves.toBeUndefined();
    await subscription.close();
    expect(source.unsubscribed).toBe(1);
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('ends the iteration with the error when the server drops the subscription', async () => {
    const source = new FakeSubscription();
    const subscription = adaptSubscription(source, 0);
    source.fail(new Error('subscription dropped'));
    await expect(
      (async () => {
        for await (const _ of subscription) {
          // none
        }
      })(),
    ).rejects.toThrow('subscription dropped');
    expect(source.unsubscribed).toBe(1);
  });
});
