/**
 * A retransmitted input costs the same in a long stream as in a short one: it is decided again from the
 * state it was decided on (kept for recent inputs) and its own stored event, not by reading and folding
 * the stream from its start. The stream here was grown the way a REFER flood grew streams before 491
 * refusals stopped being stored.
 */
import { describe, expect, it } from 'vitest';
import type { ReferReceived } from '../../machines/events.ts';
import { decide } from '../../machines/session.ts';
import { toEventData } from '../../src/engine/codec.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { decidedAt, loadSession } from '../../src/engine/load.ts';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { newSid, streamOf } from '../../src/shared/sids.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import { pbxInDialog, testConfig } from '../helpers/sipInputs.ts';
import { answeredCall, harness } from './dialogSetup.ts';

/** The store, counting the events its stream reads return. */
function counting(store: EventStore) {
  const counted = {
    ...store,
    eventsRead: 0,
    async readStream(...args: Parameters<EventStore['readStream']>) {
      const events = await store.readStream(...args);
      counted.eventsRead += events.length;
      return events;
    },
  };
  return counted;
}

/** Appends `pairs` REFERs refused 491 (ReferReceived + ReferRejected each), as they used to be stored. */
async function storeOldFlood(store: EventStore, sessionSid: string, pairs: number, firstSeq: number) {
  const stream = streamOf(sessionSid);
  const stored = await store.readStream(stream);
  const accepted = stored.find((e) => e.type === 'ReferReceived')!;
  const base = (await loadSession(store, sessionSid)).session;
  const events = [];
  for (let i = 0; i < pairs; i++) {
    const transactionKey = `z9hG4bKflood${i}:REFER`;
    const refer = {
      ...(accepted.data as Omit<ReferReceived, 'type'>),
      type: 'ReferReceived',
      transferSid: newSid('TR'),
      childCallSid: newSid('CA'),
      cseq: firstSeq + i,
      refer: { adapterId: 'a1', transactionKey },
    } as ReferReceived;
    const decision = decide(base, refer);
    expect(decision.commands).toMatchObject([{ status: 491 }]);
    events.push(toEventData(decision.events[0]!, { correlationId: 'flood', inputKey: transactionKey }));
    for (const fact of decision.events.slice(1)) events.push(toEventData(fact, { correlationId: 'flood' }));
  }
  await store.appendToStream(stream, events, { expectedRevision: stored.at(-1)!.revision });
}

describe('a retransmitted input in a long stream', () => {
  it('reads one event, not the stream, and re-sends what was decided', async () => {
    const store = counting(createInMemoryEventStore());
    const h = harness(store);
    const { invite, pivotTag } = await answeredCall(h);
    const refer = pbxInDialog(invite, pivotTag, 'REFER', 2, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
    const { sessionSid } = await h.engine.handle(refer);
    await storeOldFlood(store, sessionSid, 500, 3);

    // After a restart: the first input loads the stream once.
    const sent: unknown[] = [];
    const engine = createEngine({ store, config: testConfig(), send: (command) => sent.push(command) });
    const bye: SipRequestInput = pbxInDialog(invite, pivotTag, 'BYE', 600);
    const hungUp = await engine.handle(bye);
    expect(hungUp.kind).toBe('stored');
    const streamLength = (await store.readStream(streamOf(sessionSid))).length;
    expect(streamLength).toBeGreaterThan(1000);
    const byeRevision = streamLength - (hungUp.kind === 'stored' ? hungUp.events.length : 0);
    const decided = await decidedAt(store, sessionSid, byeRevision);
    expect(decided.length).toBeGreaterThan(0);

    for (let i = 0; i < 3; i++) {
      sent.length = 0;
      store.eventsRead = 0;
      const repeated = await engine.handle(bye);
      expect(repeated).toMatchObject({ kind: 'repeated', commands: decided });
      expect(sent).toEqual(decided);
      expect(store.eventsRead).toBeLessThanOrEqual(1);
    }
    await engine.stop();
  });

  it('an input older than the recent ones is still answered as it was decided', async () => {
    const store = createInMemoryEventStore();
    const h = harness(store);
    const { invite, pivotTag } = await answeredCall(h);
    let seq = 2;
    // More stored inputs than a loaded session keeps the state of (re-INVITE, its answers, ACK...).
    const options = pbxInDialog(invite, pivotTag, 'OPTIONS', seq++);
    await h.engine.handle(options);
    const refer = pbxInDialog(invite, pivotTag, 'REFER', seq++, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
    const { sessionSid } = await h.engine.handle(refer);
    await storeOldFlood(store, sessionSid, 40, seq);
    const referRevision = (await store.readStream(streamOf(sessionSid))).find(
      (e) => e.type === 'ReferReceived',
    )!.revision;
    const decided = await decidedAt(store, sessionSid, referRevision);
    expect(decided.map((c) => c.kind === 'response' && c.status)).toContain(202);

    const engine = createEngine({ store, config: testConfig(), send: () => {} });
    expect(await engine.handle(refer)).toMatchObject({ kind: 'repeated', commands: decided });
    // Twice: the second time from the state remembered by the first.
    expect(await engine.handle(refer)).toMatchObject({ kind: 'repeated', commands: decided });
    await engine.stop();
  });
});
