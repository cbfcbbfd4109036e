/**
 * An input the engine could not handle is not acknowledged as if it had been: a store failure is
 * redelivered (bounded by maxDeliver), a poison input is given up at once without stalling its
 * partition. Msg-Id deduplication is scoped to the session. Real nats-server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.ts';
import { PoisonInputError } from '../../src/engine/errors.ts';
import type { SendRequestCommand, SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts';
import { pbxInvite, testConfig } from '../helpers/sipInputs.ts';
import { busFactory, requestInput, waitUntil } from './support.ts';

let server: NatsServer;
let buses: ReturnType<typeof busFactory>;

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await buses?.closeAll();
});

describe('nats bus: failed inputs', () => {
  it('an input whose store append failed is redelivered and stored once the store is back', async () => {
    buses = busFactory(server.url, { partitions: 1 });
    const memory = createInMemoryEventStore();
    let failures = 2;
    const store: EventStore = {
      ...memory,
      async appendToStream(...args) {
        if (failures > 0) {
          failures--;
          throw new Error('SQLITE_IOERR: disk I/O error');
        }
        return memory.appendToStream(...args);
      },
    };
    const sent: SipCommand[] = [];
    const engine = createEngine({ store, config: testConfig(), send: (c) => sent.push(c) });
    // Wired as src/cli/roles.ts wires the engine role.
    await (await buses.open()).engine().consumeInputs(async (input) => {
      await engine.handle(input);
    });
    await (await buses.open()).adapter().publishInput(pbxInvite());
    await waitUntil('the INVITE stored', async () => (await memory.headPosition()) > 0, 10_000);
    expect(failures).toBe(0);
    // The call and its Timer C.
    expect((await memory.readAll()).map((e) => e.type)).toEqual(['CallReceived', 'TimerScheduled']);
    expect(sent.filter((c): c is SendRequestCommand => c.kind === 'request').map((c) => c.method)).toEqual([
      'INVITE',
    ]);
  }, 20_000);

  it('an input that keeps failing is given up after maxDeliver deliveries, then the partition goes on', async () => {
    buses = busFactory(server.url, { partitions: 1, maxDeliver: 3 });
    const adapterSide = (await buses.open()).adapter();
    const attempts = new Map<string, number>();
    await (await buses.open()).engine().consumeInputs(async (input) => {
      attempts.set(input.transactionKey, (attempts.get(input.transactionKey) ?? 0) + 1);
      if (input.callId === 'always-failing@pbx') throw new Error('store unavailable');
    });
    const failing = requestInput('always-failing@pbx', 0);
    const next = requestInput('other@pbx', 0);
    await adapterSide.publishInput(failing);
    await adapterSide.publishInput(next);
    await waitUntil('the next input', () => attempts.has(next.transactionKey), 10_000);
    expect(attempts.get(failing.transactionKey)).toBe(3);
    // Given up for good: an input published after it is handled (the partition is in order), and the
    // failing input has still had its three deliveries only.
    const probe = requestInput('probe@pbx', 0);
    await adapterSide.publishInput(probe);
    await waitUntil('the probe', () => attempts.has(probe.transactionKey), 10_000);
    expect(attempts.get(failing.transactionKey)).toBe(3);
  }, 20_000);

  it('a poison input is given up on its first delivery and does not hold up its partition', async () => {
    buses = busFactory(server.url, { partitions: 1, maxDeliver: 10 });
    const adapterSide = (await buses.open()).adapter();
    const attempts = new Map<string, number>();
    await (await buses.open()).engine().consumeInputs(async (input) => {
      attempts.set(input.transactionKey, (attempts.get(input.transactionKey) ?? 0) + 1);
      if (input.callId === 'poison@pbx') throw new PoisonInputError(new Error('must: To tag'));
    });
    const poison = requestInput('poison@pbx', 0);
    const next = requestInput('other@pbx', 0);
    await adapterSide.publishInput(poison);
    await adapterSide.publishInput(next);
    await waitUntil('the next input', () => attempts.has(next.transactionKey), 10_000);
    // The partition takes one input at a time: without the term, the next input would have come only
    // after the poison's 9 more deliveries (and their nak delays).
    expect(attempts.get(poison.transactionKey)).toBe(1);
    const probe = requestInput('probe@pbx', 0);
    await adapterSide.publishInput(probe);
    await waitUntil('the probe', () => attempts.has(probe.transactionKey), 10_000);
    expect(attempts.get(poison.transactionKey)).toBe(1);
  }, 20_000);
});

describe('nats bus: deduplication is per session', () => {
  it('two calls whose peers reuse a branch both get through; a retransmission still does not', async () => {
    buses = busFactory(server.url, { partitions: 1 });
    const adapterSide = (await buses.open()).adapter();
    const received: string[] = [];
    await (await buses.open()).engine().consumeInputs(async (input) => {
      received.push(`${input.callId} ${input.transactionKey}`);
    });
    const a = requestInput('call-one@pbx', 0);
    // Another peer, another call, the same branch (e.g. a broken UA with a fixed branch).
    const b = { ...requestInput('call-two@pbx', 0), transactionKey: a.transactionKey };
    await adapterSide.publishInput(a);
    await adapterSide.publishInput({ ...a, receivedAt: new Date().toISOString() });
    await adapterSide.publishInput(b);
    const last = requestInput('call-one@pbx', 1);
    await adapterSide.publishInput(last);
    await waitUntil('the last input', () => received.includes(`${last.callId} ${last.transactionKey}`));
    expect(received).toEqual([
      `${a.callId} ${a.transactionKey}`,
      `${b.callId} ${b.transactionKey}`,
      `${last.callId} ${last.transactionKey}`,
    ]);
  });
});
