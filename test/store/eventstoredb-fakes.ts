/**
 * Fakes of the EventStoreDB client for the adapter's tests: a transaction log in memory that answers
 * appends, reads and `$all` subscriptions as the server does, and a subscription source fed by hand.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type AllStreamResolvedEvent,
  ANY,
  DeadlineExceededError,
  type AppendResult as EsdbAppendResult,
  type EventData as EsdbEventData,
  type RecordedEvent as EsdbRecordedEvent,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  type EventStoreDBClient,
  NO_STREAM,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
} from '@eventstore/db-client';
import type { EsdbSubscriptionSource } from '../../src/store/eventstoredb/subscription.ts';
import type { EventData } from '../../src/store/port.ts';

export function newEvent(): EventData {
  return { id: randomUUID(), type: 'Tested', data: {}, metadata: {} };
}

export function esdbEvent(options: {
  stream: string;
  revision: number;
  position: number;
  type?: string;
  id?: string;
}): EsdbRecordedEvent {
  const position = BigInt(options.position);
  return {
    streamId: options.stream,
    id: options.id ?? randomUUID(),
    revision: BigInt(options.revision),
    type: options.type ?? 'Tested',
    isJson: true,
    created: new Date('2025-01-02T03:04:05.678Z'),
    data: { n: options.revision },
    metadata: { $correlationId: 'corr', machineVersion: 'v1' },
    position: { commit: position, prepare: position },
  } as EsdbRecordedEvent;
}

export function resolved(
  stream: string,
  revision: number,
  position: number,
  type?: string,
): AllStreamResolvedEvent {
  return { event: esdbEvent({ stream, revision, position, type }) } as AllStreamResolvedEvent;
}

/** A readable of resolved events with the client's `cancel()`. */
function streamingRead<T>(items: T[], counter: { cancelled: number }) {
  return Object.assign(Readable.from(items, { objectMode: true }), {
    cancel: async () => {
      counter.cancelled++;
    },
  });
}

function failingRead(error: Error) {
  const read = new Readable({
    objectMode: true,
    read() {
      this.destroy(error);
    },
  });
  return Object.assign(read, { cancel: async () => {} });
}

/**
 * A transaction log in memory that answers like the client: positions 100, 200, ... per event,
 * conflicts as the client's WrongExpectedVersionError, and (optionally) the server's own idempotency
 * check: the same ids right after an expected revision below the stream's are answered as written,
 * without a position; at the stream's own revision the batch is written, whatever ids it repeats.
 * `$all` subscriptions deliver stored events after their position, then live ones.
 */
export class FakeLog {
  readonly events: EsdbRecordedEvent[] = [];
  private readonly streams = new Map<string, EsdbRecordedEvent[]>();
  /** Live subscriptions waiting for the next event. */
  private readonly waiting = new Set<() => void>();
  readonly appendCalls: { stream: string; expectedRevision: unknown; events: { id: string }[] }[] = [];
  lastAppendResult: EsdbAppendResult | undefined;
  lastReadAllFrom: unknown;
  cancelled = 0;
  streamReads = 0;
  /** The next append fails with a transport error, before or after the server wrote it. */
  failNextAppend: 'before-writing' | 'after-writing' | undefined;

  constructor(
    private readonly options: {
      serverIdempotency?: boolean;
      /** What an idempotent write reports as its position: none (the gRPC default) or -1 as uint64. */
      idempotentPosition?: 'none' | 'minus-one';
    } = {},
  ) {}

  add(stream: string, count: number, type?: string): void {
    for (let i = 0; i < count; i++) this.write(stream, randomUUID(), type);
  }

  stored(stream: string): EsdbRecordedEvent[] {
    return this.streams.get(stream) ?? [];
  }

  private write(stream: string, id: string, type = 'Tested', sent?: EsdbEventData): EsdbRecordedEvent {
    const stored = this.streams.get(stream) ?? [];
    const recorded = esdbEvent({
      stream,
      revision: stored.length,
      position: (this.events.length + 1) * 100,
      type,
      id,
    });
    if (sent) {
      // What the server keeps is the JSON it was sent.
      const asJson = (value: unknown) => JSON.parse(JSON.stringify(value ?? null));
      Object.assign(recorded, {
        data: asJson(sent.data),
        metadata: asJson(sent.metadata ?? {}),
        created: new Date(),
      });
    }
    stored.push(recorded);
    this.streams.set(stream, stored);
    this.events.push(recorded);
    for (const wake of this.waiting) wake();
    this.waiting.clear();
    return recorded;
  }

  /** A `$all` subscription: application events after `from` (exclusive, as the server's), then live. */
  private subscription(from: bigint): EsdbSubscriptionSource {
    let closed = false;
    let wake: (() => void) | undefined;
    const log = this;
    return {
      async *[Symbol.asyncIterator]() {
        let next = 0;
        while (!closed) {
          while (next < log.events.length) {
            const event = log.events[next++]!;
            if (event.position!.commit > from && !event.type.startsWith('$')) yield { event } as never;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            log.waiting.add(resolve);
          });
        }
      },
      async unsubscribe() {
        closed = true;
        wake?.();
      },
    };
  }

  client(): EventStoreDBClient {
    const fake = {
      appendToStream: async (
        stream: string,
        events: EsdbEventData[],
        { expectedRevision }: { expectedRevision: unknown },
      ): Promise<EsdbAppendResult> => {
        this.appendCalls.push({ stream, expectedRevision, events });
        const failure = this.failNextAppend;
        this.failNextAppend = undefined;
        if (failure === 'before-writing') throw new UnavailableError(undefined, 'connection refused');
        const stored = this.stored(stream);
        const current = stored.length === 0 ? NO_STREAM : BigInt(stored.length - 1);
        const matches =
          expectedRevision === ANY ||
          (expectedRevision === NO_STREAM && current === NO_STREAM) ||
          (expectedRevision === STREAM_EXISTS && current !== NO_STREAM) ||
          expectedRevision === current;
        if (!matches) {
          const exact = expectedRevision === NO_STREAM || typeof expectedRevision === 'bigint';
          if (this.options.serverIdempotency && exact) {
            const from = expectedRevision === NO_STREAM ? 0 : Number(expectedRevision) + 1;
            const at = stored.slice(from, from + events.length);
            if (at.length === events.length && at.every((event, index) => event.id === events[index]!.id)) {
              this.lastAppendResult = {
                success: true,
                nextExpectedRevision: at.at(-1)!.revision,
                position:
                  this.options.idempotentPosition === 'minus-one'
                    ? { commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n }
                    : undefined,
              };
              return this.lastAppendResult;
            }
          }
          throw new EsdbWrongExpectedVersionError(undefined, {
            streamName: stream,
            expected: expectedRevision as bigint,
            current,
          });
        }
        let last!: EsdbRecordedEvent;
        for (const event of events) last = this.write(stream, event.id, event.type, event);
        if (failure === 'after-writing') throw new DeadlineExceededError(undefined, 'deadline exceeded');
        this.lastAppendResult = {
          success: true,
          nextExpectedRevision: last.revision,
          position: last.position,
        };
        return this.lastAppendResult;
      },

      readStream: (
        stream: string,
        options: { fromRevision?: bigint | 'start' | 'end'; maxCount?: number; direction?: string } = {},
      ) => {
        this.streamReads++;
        let stored = this.stored(stream);
        if (stored.length === 0) return failingRead(new StreamNotFoundError(undefined, stream));
        if (options.direction === 'backwards') stored = [...stored].reverse();
        else if (typeof options.fromRevision === 'bigint') {
          stored = stored.filter((event) => event.revision >= (options.fromRevision as bigint));
        }
        return streamingRead(
          stored.slice(0, options.maxCount ?? stored.length).map((event) => ({ event })),
          this,
        );
      },

      readAll: (options: { fromPosition?: unknown; direction?: string } = {}) => {
        this.lastReadAllFrom = options.fromPosition;
        let all = [...this.events];
        if (options.direction === 'backwards') all.reverse();
        else if (typeof options.fromPosition === 'object') {
          // Inclusive, like the server.
          const from = (options.fromPosition as { commit: bigint }).commit;
          all = all.filter((event) => event.position!.commit >= from);
        }
        return streamingRead(
          all.map((event) => ({ event })),
          this,
        );
      },

      subscribeToAll: (options: { fromPosition?: unknown } = {}) => {
        const from = options.fromPosition as { commit: bigint } | string | undefined;
        return this.subscription(typeof from === 'object' ? from.commit : -1n);
      },

      dispose: async () => {},
    };
    return fake as unknown as EventStoreDBClient;
  }
}

/** A subscription source fed by the test; iteration waits for `push` until unsubscribed. */
export class FakeSubscription implements EsdbSubscriptionSource {
  unsubscribed = 0;
  private readonly queue: AllStreamResolvedEvent[] = [];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(event: AllStreamResolvedEvent): void {
    this.queue.push(event);
    this.wake?.();
  }

  fail(error: Error): void {
    this.failure = error;
    this.wake?.();
  }

  async unsubscribe(): Promise<void> {
    this.unsubscribed++;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AllStreamResolvedEvent> {
    for (;;) {
      if (this.failure) throw this.failure;
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
