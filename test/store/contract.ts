import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AllSubscription,
  type EventData,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  eventsBetween,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../../src/store/port.ts';

/**
 * The event store contract: every backend runs this same suite, so the engine can rely on one set of
 * semantics whatever is configured.
 *
 * `open` is called before each test. The store it returns need not be empty, but nothing else may write
 * to it while the test runs (the suite reads `$all` from the head position it saw at the start).
 * `cleanup` closes the store and removes whatever `open` created.
 */
export interface OpenedEventStore {
  store: EventStore;
  cleanup: () => Promise<void>;
  /**
   * Makes reads of `$all` fail behind the store's back, as an outage would, and returns what mends
   * them. Backends that cannot fail (in memory) leave it out and skip the case that needs it.
   */
  breakReads?: () => Promise<() => Promise<void>>;
}

export function describeEventStoreContract(name: string, open: () => Promise<OpenedEventStore>): void {
  describe(`event store contract: ${name}`, () => {
    let store: EventStore;
    let cleanup: () => Promise<void>;
    let breakReads: OpenedEventStore['breakReads'];
    /** Head position when the test started: `$all` after it holds only this test's events. */
    let start: number;

    beforeEach(async () => {
      ({ store, cleanup, breakReads } = await open());
      start = await store.headPosition();
    });

    afterEach(async () => {
      await cleanup();
    });

    const readOwnAll = () => store.readAll({ after: start });

    describe('appendToStream', () => {
      it('appends to a new stream with no-stream, revisions starting at 0', async () => {
        const stream = newCallStream();
        const appended = [newEvent('CallReceived'), newEvent('CallAnswered'), newEvent('ReferReceived')];

        const result = await store.appendToStream(stream, appended, { expectedRevision: 'no-stream' });

        const stored = await store.readStream(stream);
        expect(stored.map(summary)).toEqual([
          { streamName: stream, revision: 0, id: appended[0]!.id, type: 'CallReceived' },
          { streamName: stream, revision: 1, id: appended[1]!.id, type: 'CallAnswered' },
          { streamName: stream, revision: 2, id: appended[2]!.id, type: 'ReferReceived' },
        ]);
        expect(result).toEqual({ nextExpectedRevision: 2, position: stored[2]!.position });
      });

      it('appends when the expected revision is exactly the last revision', async () => {
        const stream = newCallStream();
        const first = await store.appendToStream(stream, [newEvent(), newEvent()], {
          expectedRevision: 'no-stream',
        });
        expect(first.nextExpectedRevision).toBe(1);

        const second = await store.appendToStream(stream, [newEvent(), newEvent()], { expectedRevision: 1 });
        expect(second.nextExpectedRevision).toBe(3);
        expect(second.position).toBeGreaterThan(first.position);

        const third = await store.appendToStream(stream, [newEvent()], { expectedRevision: 'stream-exists' });
        expect(third.nextExpectedRevision).toBe(4);

        expect((await store.readStream(stream)).map((event) => event.revision)).toEqual([0, 1, 2, 3, 4]);
      });

      it("appends with 'any' to a missing and to an existing stream", async () => {
        const stream = newCallStream();
        expect(
          (await store.appendToStream(stream, [newEvent()], { expectedRevision: 'any' }))
            .nextExpectedRevision,
        ).toBe(0);
        expect(
          (await store.appendToStream(stream, [newEvent()], { expectedRevision: 'any' }))
            .nextExpectedRevision,
        ).toBe(1);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it("refuses 'no-stream' on an existing stream and writes nothing", async () => {
        const stream = newCallStream();
        await store.appendToStream(stream, [newEvent(), newEvent()], { expectedRevision: 'no-stream' });

        await expectWrongExpectedVersion(
          store.appendToStream(stream, [newEvent()], { expectedRevision: 'no-stream' }),
          { streamName: stream, expected: 'no-stream', actual: 1 },
        );

        expect(await store.readStream(stream)).toHaveLength(2);
        expect(await readOwnAll()).toHaveLength(2);
      });

      it('refuses an expected revision that is not the last revision', async () => {
        const stream = newCallStream();
        await store.appendToStream(stream, [newEvent(), newEvent()], { expectedRevision: 'no-stream' });

        await expectWrongExpectedVersion(
          store.appendToStream(stream, [newEvent()], { expectedRevision: 0 }),
          {
            streamName: stream,
            expected: 0,
            actual: 1,
          },
        );
        await expectWrongExpectedVersion(
          store.appendToStream(stream, [newEvent()], { expectedRevision: 5 }),
          {
            streamName: stream,
            expected: 5,
            actual: 1,
          },
        );
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('refuses a numeric expected revision on a missing stream', async () => {
        const stream = newCallStream();
        await expectWrongExpectedVersion(
          store.appendToStream(stream, [newEvent()], { expectedRevision: 0 }),
          {
            streamName: stream,
            expected: 0,
            actual: 'no-stream',
          },
        );
        expect(await store.readStream(stream)).toEqual([]);
      });

      it("refuses 'stream-exists' on a missing stream", async () => {
        const stream = newCallStream();
        await expectWrongExpectedVersion(
          store.appendToStream(stream, [newEvent()], { expectedRevision: 'stream-exists' }),
          { streamName: stream, expected: 'stream-exists', actual: 'no-stream' },
        );
        expect(await store.readStream(stream)).toEqual([]);
        expect(await readOwnAll()).toEqual([]);
      });

      it('treats a re-append of stored event ids as a no-op returning the original result', async () => {
        const stream = newCallStream();
        const [a, b, c] = [newEvent('CallReceived'), newEvent('CallAnswered'), newEvent('CallEnded')];
        const original = await store.appendToStream(stream, [a, b], { expectedRevision: 'no-stream' });

        // A retry after a lost reply carries the expected revision of the first try...
        expect(await store.appendToStream(stream, [a, b], { expectedRevision: 'no-stream' })).toEqual(
          original,
        );
        expect(await store.appendToStream(stream, [a, b], { expectedRevision: 'any' })).toEqual(original);
        // ...even once the stream has moved on.
        await store.appendToStream(stream, [c], { expectedRevision: 1 });
        expect(await store.appendToStream(stream, [a, b], { expectedRevision: 'no-stream' })).toEqual(
          original,
        );

        const stored = await store.readStream(stream);
        expect(stored.map((event) => event.id)).toEqual([a.id, b.id, c.id]);
        expect((await readOwnAll()).map((event) => event.id)).toEqual([a.id, b.id, c.id]);
        expect(await store.appendToStream(stream, [a], { expectedRevision: 'any' })).toEqual({
          nextExpectedRevision: 0,
          position: stored[0]!.position,
        });
      });
    });

    describe('re-appends at the current revision', () => {
      it('a retry whose expected revision is the one its own first try produced writes nothing', async () => {
        const stream = newCallStream();
        const [a, b] = [newEvent('CallReceived'), newEvent('CallAnswered')];
        const original = await store.appendToStream(stream, [a, b], { expectedRevision: 'no-stream' });
        // A writer that reloaded the stream after a lost reply sees revision 1 and sends the same ids.
        expect(
          await store.appendToStream(stream, [a, b], { expectedRevision: original.nextExpectedRevision }),
        ).toEqual(original);
        expect(await store.appendToStream(stream, [b], { expectedRevision: 1 })).toEqual(original);
        expect((await store.readStream(stream)).map((event) => event.id)).toEqual([a.id, b.id]);
        expect((await readOwnAll()).map((event) => event.id)).toEqual([a.id, b.id]);
      });
    });

    describe('readStream', () => {
      it('reads from a revision, at most maxCount events', async () => {
        const stream = newCallStream();
        await store.appendToStream(stream, newEvents(10), { expectedRevision: 'no-stream' });

        const revisions = async (options: { fromRevision?: number; maxCount?: number }) =>
          (await store.readStream(stream, options)).map((event) => event.revision);
        expect(await revisions({ fromRevision: 3, maxCount: 4 })).toEqual([3, 4, 5, 6]);
        expect(await revisions({ fromRevision: 8 })).toEqual([8, 9]);
        expect(await revisions({ maxCount: 2 })).toEqual([0, 1]);
        expect(await revisions({ fromRevision: 10 })).toEqual([]);
      });

      it('reads a missing stream as an empty array', async () => {
        expect(await store.readStream(newCallStream())).toEqual([]);
        expect(await store.readStream(newCallStream(), { fromRevision: 5, maxCount: 3 })).toEqual([]);
      });
    });

    describe('readAll', () => {
      it('reads every stream in global position order', async () => {
        const [call, transfer, trunk] = [newCallStream(), `transfer-TR${hex()}`, `trunk-TK${hex()}`];
        const appends: Array<[string, EventData]> = [
          [call, newEvent('CallReceived')],
          [transfer, newEvent('ReferAccepted')],
          [call, newEvent('TransfereeHeld')],
          [trunk, newEvent('TrunkUsed')],
          [transfer, newEvent('TargetInvited')],
        ];
        const positions: number[] = [];
        for (const [stream, event] of appends) {
          positions.push((await store.appendToStream(stream, [event], { expectedRevision: 'any' })).position);
        }

        const all = await readOwnAll();
        expect(all.map((event) => [event.streamName, event.id])).toEqual(
          appends.map(([stream, event]) => [stream, event.id]),
        );
        expect(all.map((event) => event.position)).toEqual(positions);
        expectStrictlyIncreasing([start, ...positions]);
        expect(all.map((event) => event.revision)).toEqual([0, 0, 1, 0, 1]);
      });

      it('reads after a position, at most maxCount events, so it can be paged', async () => {
        const appended = newEvents(5);
        for (const event of appended) {
          await store.appendToStream(newCallStream(), [event], { expectedRevision: 'no-stream' });
        }
        const all = await readOwnAll();
        expect(all.map((event) => event.id)).toEqual(appended.map((event) => event.id));

        expect((await store.readAll({ after: all[1]!.position })).map((event) => event.id)).toEqual(
          appended.slice(2).map((event) => event.id),
        );
        expect((await store.readAll({ after: start, maxCount: 2 })).map((event) => event.id)).toEqual(
          appended.slice(0, 2).map((event) => event.id),
        );

        const paged: RecordedEvent[] = [];
        for (let after = start; ; ) {
          const page = await store.readAll({ after, maxCount: 2 });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(2);
          paged.push(...page);
          after = page.at(-1)!.position;
        }
        expect(paged.map((event) => event.id)).toEqual(appended.map((event) => event.id));
      });

      it('gives the events of one append strictly increasing positions', async () => {
        const stream = newCallStream();
        const result = await store.appendToStream(stream, newEvents(5), { expectedRevision: 'no-stream' });
        const positions = (await store.readStream(stream)).map((event) => event.position);
        expectStrictlyIncreasing([start, ...positions]);
        expect(positions.at(-1)).toBe(result.position);
      });
    });

    describe('headPosition', () => {
      it('is the position of the newest event, and 0 only when the store is empty', async () => {
        const first = await store.readAll({ maxCount: 1 });
        if (first.length === 0) expect(start).toBe(0);
        else expect(start).toBeGreaterThanOrEqual(first[0]!.position);
        expect(await store.readAll({ after: start })).toEqual([]);

        const one = await store.appendToStream(newCallStream(), [newEvent()], {
          expectedRevision: 'no-stream',
        });
        expect(await store.headPosition()).toBe(one.position);
        const two = await store.appendToStream(newCallStream(), newEvents(3), {
          expectedRevision: 'no-stream',
        });
        expect(await store.headPosition()).toBe(two.position);
        expect(two.position).toBeGreaterThan(one.position);
      });
    });

    describe('eventsBetween', () => {
      it('counts events, whatever positions measure, across a refused append', async () => {
        const stream = newCallStream();
        const first = await store.appendToStream(stream, [newEvent()], { expectedRevision: 'no-stream' });
        await expect(
          store.appendToStream(stream, newEvents(2), { expectedRevision: 'no-stream' }),
        ).rejects.toBeInstanceOf(WrongExpectedVersionError);
        await store.appendToStream(newCallStream(), newEvents(3), { expectedRevision: 'no-stream' });
        const head = await store.headPosition();
        expect(await eventsBetween(store, start, head)).toBe(4);
        expect(await eventsBetween(store, first.position, head)).toBe(3);
        expect(await eventsBetween(store, head, head)).toBe(0);
      });
    });

    it('keeps a long stream in order (2,000 events appended in batches)', async () => {
      const stream = newCallStream();
      const appended = newEvents(2_000);
      let expectedRevision: ExpectedRevision = 'no-stream';
      for (let offset = 0; offset < appended.length; offset += 100) {
        const result = await store.appendToStream(stream, appended.slice(offset, offset + 100), {
          expectedRevision,
        });
        expect(result.nextExpectedRevision).toBe(offset + 99);
        expectedRevision = result.nextExpectedRevision;
      }

      const stored = await store.readStream(stream);
      expect(stored.map((event) => event.revision)).toEqual(appended.map((_, index) => index));
      expect(stored.map((event) => event.id)).toEqual(appended.map((event) => event.id));
      expectStrictlyIncreasing(stored.map((event) => event.position));
      expect((await readOwnAll()).map((event) => event.id)).toEqual(appended.map((event) => event.id));
      expect((await store.readStream(stream, { fromRevision: 1_990 })).map((event) => event.id)).toEqual(
        appended.slice(1_990).map((event) => event.id),
      );
    });

    describe('concurrent appends', () => {
      it("serialises 50 simultaneous 'any' appends to one stream without gaps", async () => {
        const stream = newCallStream();
        const appended = newEvents(50);

        const results = await Promise.all(
          appended.map((event) => store.appendToStream(stream, [event], { expectedRevision: 'any' })),
        );

        expect(results.map((result) => result.nextExpectedRevision).sort((a, b) => a - b)).toEqual(
          appended.map((_, index) => index),
        );
        const stored = await store.readStream(stream);
        expect(stored.map((event) => event.revision)).toEqual(appended.map((_, index) => index));
        expect(new Set(stored.map((event) => event.id))).toEqual(new Set(appended.map((event) => event.id)));
        expectStrictlyIncreasing(stored.map((event) => event.position));
      });

      it('lets exactly one of many racing appends with the same expected revision win', async () => {
        const stream = newCallStream();
        await store.appendToStream(stream, [newEvent()], { expectedRevision: 'no-stream' });

        const outcomes = await Promise.allSettled(
          newEvents(20).map((event) => store.appendToStream(stream, [event], { expectedRevision: 0 })),
        );

        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        expect(won).toHaveLength(1);
        expect(won[0]!.value.nextExpectedRevision).toBe(1);
        for (const outcome of outcomes.filter((outcome) => outcome.status === 'rejected')) {
          expect(outcome.reason).toBeInstanceOf(WrongExpectedVersionError);
          expect(outcome.reason).toMatchObject({ streamName: stream, expected: 0, actual: 1 });
        }
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it("lets exactly one of many racing 'no-stream' appends create the stream", async () => {
        const stream = newCallStream();
        const outcomes = await Promise.allSettled(
          newEvents(10).map((event) =>
            store.appendToStream(stream, [event], { expectedRevision: 'no-stream' }),
          ),
        );
        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes.filter((outcome) => outcome.status === 'rejected')) {
          expect(outcome.reason).toBeInstanceOf(WrongExpectedVersionError);
          expect(outcome.reason).toMatchObject({ streamName: stream, expected: 'no-stream', actual: 0 });
        }
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('accepts simultaneous appends to different streams', async () => {
        const appends = Array.from({ length: 30 }, () => ({ stream: newCallStream(), events: newEvents(2) }));

        const results = await Promise.all(
          appends.map(({ stream, events }) =>
            store.appendToStream(stream, events, { expectedRevision: 'no-stream' }),
          ),
        );

        expect(results.map((result) => result.nextExpectedRevision)).toEqual(appends.map(() => 1));
        expect(new Set(results.map((result) => result.position)).size).toBe(30);
        for (const { stream, events } of appends) {
          expect((await store.readStream(stream)).map((event) => event.id)).toEqual(
            events.map((event) => event.id),
          );
        }
        const all = await readOwnAll();
        expect(all).toHaveLength(60);
        expectStrictlyIncreasing(all.map((event) => event.position));
      });
    });

    it('round-trips data and metadata (nested JSON, unicode)', async () => {
      const stream = newCallStream();
      const data = {
        callSid: `CA${hex()}`,
        from: 'sip:+15550100000@acme.pstn.pivot.test',
        display: 'Zoë Ångström ☎ 日本語 🙂',
        sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n',
        legs: [
          { tag: 'a1', cseq: 1, held: false },
          { tag: 'b2', cseq: 42, held: true, routeSet: [] },
        ],
        nested: { deeper: { deepest: [1, 2.5, -3, null, 'x'] } },
        statusCode: 202,
        empty: {},
      };
      const metadata: EventMetadata = {
        correlationId: randomUUID(),
        causationId: randomUUID(),
        machineVersion: 'call@1.0.0',
        sipCallId: 'a84b4c76e66710@pc33.atlanta.example.com',
        retries: 0,
      };
      const event = newEvent('CallReceived', data, metadata);
      const before = Date.now();

      await store.appendToStream(stream, [event], { expectedRevision: 'no-stream' });

      const [fromStream] = await store.readStream(stream);
      const [fromAll] = await readOwnAll();
      for (const recorded of [fromStream!, fromAll!]) {
        expect(recorded.id).toBe(event.id);
        expect(recorded.type).toBe('CallReceived');
        expect(recorded.data).toEqual(data);
        expect(recorded.metadata).toEqual(metadata);
        expect(new Date(recorded.recordedAt).toISOString()).toBe(recorded.recordedAt);
        expect(Date.parse(recorded.recordedAt)).toBeGreaterThanOrEqual(before - 60_000);
        expect(Date.parse(recorded.recordedAt)).toBeLessThanOrEqual(Date.now() + 60_000);
      }
    });

    describe('subscribeToAll', () => {
      it('catches up after the checkpoint, then delivers live events once each, in order', async () => {
        const stream = newCallStream();
        const earlier = newEvents(3);
        const first = await store.appendToStream(stream, earlier.slice(0, 1), {
          expectedRevision: 'no-stream',
        });
        await store.appendToStream(stream, earlier.slice(1), { expectedRevision: 0 });
        const subscription = store.subscribeToAll({ after: first.position });
        const received = collect(subscription);

        await received.until(2);
        const later = newEvents(3);
        await store.appendToStream(stream, later.slice(0, 2), { expectedRevision: 2 });
        await store.appendToStream(newCallStream(), later.slice(2), { expectedRevision: 'no-stream' });
        await received.until(5);
        // A last event proves nothing else (no repeat) was delivered before it.
        const marker = newEvent('Marker');
        await store.appendToStream(stream, [marker], { expectedRevision: 4 });
        await received.until(6);
        await subscription.close();
        await received.done;

        expect(received.events.map((event) => event.id)).toEqual(
          [...earlier.slice(1), ...later, marker].map((event) => event.id),
        );
        expectStrictlyIncreasing([first.position, ...received.events.map((event) => event.position)]);
      });

      it('delivers concurrent appends to many streams in position order without gaps', async () => {
        const subscription = store.subscribeToAll({ after: start });
        const received = collect(subscription);
        const streams = Array.from({ length: 8 }, () => newCallStream());

        await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            store.appendToStream(streams[index % 8]!, [newEvent()], { expectedRevision: 'any' }),
          ),
        );
        await received.until(40);
        await subscription.close();
        await received.done;

        const all = await readOwnAll();
        expect(all).toHaveLength(40);
        expect(received.events.map((event) => [event.position, event.id])).toEqual(
          all.map((event) => [event.position, event.id]),
        );
      });

      it('fails when dropped mid-stream; resubscribing from its checkpoint misses and repeats nothing', async (context) => {
        if (!breakReads) return context.skip();
        // More than one page of catch-up, so the drop lands between two reads of `$all`.
        const before = newEvents(1_200);
        for (let offset = 0; offset < before.length; offset += 300) {
          await store.appendToStream(newCallStream(), before.slice(offset, offset + 300), {
            expectedRevision: 'no-stream',
          });
        }
        const delivered: RecordedEvent[] = [];
        let mend: (() => Promise<void>) | undefined;
        const dropped = (async () => {
          for await (const event of store.subscribeToAll({ after: start })) {
            delivered.push(event);
            if (!mend) mend = await breakReads();
          }
        })();
        await expect(dropped).rejects.toThrow();
        expect(delivered.length).toBeGreaterThan(0);
        expect(delivered.length).toBeLessThan(before.length);
        await mend!();

        const after = newEvents(2);
        await store.appendToStream(newCallStream(), after, { expectedRevision: 'no-stream' });
        const resumed = store.subscribeToAll({ after: delivered.at(-1)!.position });
        const received = collect(resumed);
        await received.until(before.length + after.length - delivered.length);
        const marker = newEvent('Marker');
        await store.appendToStream(newCallStream(), [marker], { expectedRevision: 'no-stream' });
        await received.until(before.length + after.length - delivered.length + 1);
        await resumed.close();
        await received.done;

        expect([...delivered, ...received.events].map((event) => event.id)).toEqual(
          [...before, ...after, marker].map((event) => event.id),
        );
      });

      it('starts from the beginning of $all without a checkpoint', async () => {
        await store.appendToStream(newCallStream(), [newEvent()], { expectedRevision: 'no-stream' });
        const [oldest] = await store.readAll({ maxCount: 1 });
        const subscription = store.subscribeToAll();
        const received = collect(subscription);
        await received.until(1);
        await subscription.close();
        await received.done;
        expect(received.events[0]!.position).toBe(oldest!.position);
        expect(received.events[0]!.id).toBe(oldest!.id);
      });

      it('ends the for-await loop when closed while waiting for events', async () => {
        const subscription = store.subscribeToAll({ after: start });
        const received = collect(subscription);
        await sleep(50);

        await subscription.close();
        await expect(withTimeout(received.done, 2_000)).resolves.toBeUndefined();

        await store.appendToStream(newCallStream(), [newEvent()], { expectedRevision: 'no-stream' });
        await sleep(50);
        expect(received.events).toEqual([]);
      });

      it('ends the for-await loop when closed by the consumer, even with events left to deliver', async () => {
        await store.appendToStream(newCallStream(), newEvents(3), { expectedRevision: 'no-stream' });
        const subscription = store.subscribeToAll({ after: start });

        const seen: RecordedEvent[] = [];
        await withTimeout(
          (async () => {
            for await (const event of subscription) {
              seen.push(event);
              await subscription.close();
            }
          })(),
          2_000,
        );

        expect(seen).toHaveLength(1);
      });

      it('can be left with break', async () => {
        await store.appendToStream(newCallStream(), newEvents(3), { expectedRevision: 'no-stream' });
        const subscription = store.subscribeToAll({ after: start });

        const seen: RecordedEvent[] = [];
        for await (const event of subscription) {
          seen.push(event);
          if (seen.length === 2) break;
        }

        expect(seen.map((event) => event.revision)).toEqual([0, 1]);
        await subscription.close();
      });
    });
  });
}

const hex = () => randomUUID().replaceAll('-', '');

const newCallStream = () => `call-CA${hex()}`;

function newEvent(type = 'CallReceived', data: unknown = {}, metadata: EventMetadata = {}): EventData {
  return { id: randomUUID(), type, data, metadata: { correlationId: randomUUID(), ...metadata } };
}

function newEvents(count: number): EventData[] {
  return Array.from({ length: count }, (_, index) => newEvent('TimerFired', { index }));
}

const summary = (event: RecordedEvent) => ({
  streamName: event.streamName,
  revision: event.revision,
  id: event.id,
  type: event.type,
});

function expectStrictlyIncreasing(values: number[]): void {
  for (let index = 1; index < values.length; index++) {
    expect(values[index]!, `value at ${index} of ${JSON.stringify(values)}`).toBeGreaterThan(
      values[index - 1]!,
    );
  }
}

async function expectWrongExpectedVersion(
  append: Promise<unknown>,
  expected: { streamName: string; expected: ExpectedRevision; actual: number | 'no-stream' },
): Promise<void> {
  const error = await append.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  expect(error).toBeInstanceOf(Error);
  expect(error).toMatchObject({ name: 'WrongExpectedVersionError', ...expected });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms, undefined, { ref: false }).then(() => {
      throw new Error(`timed out after ${ms} ms`);
    }),
  ]);
}

/** Iterates a subscription in the background, keeping what it delivers. */
function collect(subscription: AllSubscription) {
  const events: RecordedEvent[] = [];
  let failure: unknown;
  const done = (async () => {
    for await (const event of subscription) events.push(event);
  })();
  done.catch((error: unknown) => {
    failure = error;
  });

  /** Resolves once `count` events have arrived; subscriptions may poll, so allow a few seconds. */
  async function until(count: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (events.length < count) {
      if (failure) throw failure;
      if (Date.now() > deadline)
        throw new Error(`received ${events.length} of ${count} events in ${timeoutMs} ms`);
      await sleep(5);
    }
  }

  return { events, done, until };
}
