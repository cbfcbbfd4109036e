/**
 * Bounded engine mailboxes: while a session's queue (or the engine's, over all sessions) is full, a new
 * request is answered 503 with Retry-After at once, without waiting behind the queue and without being
 * stored; a response is rejected unhandled (a durable bus delivers it again later).
 */

import { describe, expect, it } from 'vitest';
import { EngineOverloadedError } from '../../src/engine/busy.ts';
import { createEngine, type Outcome } from '../../src/engine/engine.ts';
import type { SendRequestCommand, SipCommand } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { answer, pbxInvite, testConfig } from '../helpers/sipInputs.ts';
import { until } from '../helpers/until.ts';

/** A store whose appends wait until the test opens the gate. */
function gatedStore() {
  const store = createInMemoryEventStore();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let waiting = 0;
  const gated: EventStore = {
    ...store,
    async appendToStream(...args) {
      waiting++;
      await gate;
      return store.appendToStream(...args);
    },
  };
  return { store: gated, open, waiting: () => waiting };
}

function engineOver(store: EventStore, bounds: { maxQueuedPerSession?: number; maxQueued?: number }) {
  const sent: SipCommand[] = [];
  const engine = createEngine({ store, config: testConfig(), send: (c) => sent.push(c), ...bounds });
  return { engine, sent };
}

describe('bounded engine mailboxes', () => {
  it("a session's full queue: a new request gets 503 at once and nothing is stored for it", async () => {
    const gated = gatedStore();
    const { engine, sent } = engineOver(gated.store, { maxQueuedPerSession: 2 });
    const invite = pbxInvite();
    const first = engine.handle(invite);
    // The same INVITE delivered again queues behind it (a second input of the session).
    const second = engine.handle(invite);
    await until(() => gated.waiting() === 1);

    // A new INVITE transaction in the same session (a PBX re-sending with a new branch): refused.
    const again = { ...invite, transactionKey: `${invite.transactionKey}-again` };
    const refused = await engine.handle(again);
    expect(refused).toMatchObject({ kind: 'replied', overloaded: true });
    expect(sent.at(-1)).toMatchObject({
      kind: 'response',
      transactionKey: again.transactionKey,
      status: 503,
      headers: expect.objectContaining({ 'Retry-After': '1' }),
    });
    // What ends the call is never turned away by its own session's queue: the CANCEL waits its turn.
    const cancel = { ...invite, method: 'CANCEL', transactionKey: `${invite.transactionKey}-c:CANCEL` };
    const canceled = engine.handle(cancel);

    gated.open();
    expect((await first).kind).toBe('stored');
    expect((await second).kind).toBe('repeated');
    expect((await canceled).kind).toBe('stored');
    const types = (await gated.store.readAll()).map((e) => e.type);
    expect(types[0]).toBe('CallReceived');
    expect(types).toContain('CallCanceled');
    await engine.stop();
  });

  it('the engine-wide bound: a new call of another session gets 503; a response is rejected unhandled', async () => {
    const gated = gatedStore();
    const { engine, sent } = engineOver(gated.store, { maxQueued: 2 });
    const pending: Promise<Outcome>[] = [engine.handle(pbxInvite()), engine.handle(pbxInvite())];
    await until(() => gated.waiting() === 2);

    const third = pbxInvite();
    expect(await engine.handle(third)).toMatchObject({ kind: 'replied', overloaded: true });
    expect(sent.at(-1)).toMatchObject({ transactionKey: third.transactionKey, status: 503 });

    const stray = answer(
      {
        kind: 'request',
        branch: 'z9hG4bKstray',
        method: 'INVITE',
        uri: 'sip:+15550200000@127.0.0.2',
        callId: 'stray@127.0.0.2',
        from: { uri: 'sip:pivot@127.0.0.1', params: { tag: 'pv1' } },
        to: { uri: 'sip:+15550200000@127.0.0.2', params: {} },
        cseq: { seq: 1, method: 'INVITE' },
        destination: { transport: 'udp', host: '127.0.0.2', port: 5090 },
      } as SendRequestCommand,
      180,
      'Ringing',
    );
    await expect(engine.handle(stray)).rejects.toBeInstanceOf(EngineOverloadedError);

    gated.open();
    for (const outcome of await Promise.all(pending)) expect(outcome.kind).toBe('stored');
    expect((await gated.store.readAll()).filter((e) => e.type === 'CallReceived')).toHaveLength(2);
    // Drained: the next call is handled again.
    expect((await engine.handle(pbxInvite())).kind).toBe('stored');
    await engine.stop();
  });
});
