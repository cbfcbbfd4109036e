/**
 * RFC 3261 §12.2.2, seen through the engine: an in-dialog request whose CSeq is not above the last
 * remote CSeq of its dialog is answered 500 Server Internal Error with a clear log line, and nothing is
 * stored; the dialog goes on. ACK and CANCEL carry their INVITE's CSeq and are not checked.
 */
import { describe, expect, it } from 'vitest';
import { checkAll } from '../../src/engine/replay.ts';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { createInMemoryEventStore } from '../../src/store/memory.ts';
import type { EventStore } from '../../src/store/port.ts';
import {
  answer,
  pbxInDialog,
  peerInDialog,
  SDP_CARRIER,
  SDP_PBX,
  SDP_TARGET,
  testConfig,
} from '../helpers/sipInputs.ts';
import { answeredCall, cancelOf, expectRefused, type H, harness } from './dialogSetup.ts';

/** The request is answered 500 with a log line naming the CSeqs, and nothing is stored. */
async function expectOutOfOrder(h: H, input: SipRequestInput, last: number) {
  const why = new RegExp(
    `CSeq ${input.cseq.seq} ${input.method} is not above the dialog's last remote CSeq ${last}`,
  );
  await expectRefused(h, input, 500, why);
  expect(h.sent.at(-1)).toMatchObject({ reason: 'Server Internal Error' });
}

async function expectStored(h: H, input: SipRequestInput, type: string) {
  const outcome = await h.engine.handle(input);
  expect(outcome.kind).toBe('stored');
  expect(outcome.kind === 'stored' && outcome.events[0]?.type).toBe(type);
}

/** Every recorded state of the store still replays equal (`pivot replay --check`). */
async function expectReplayClean(store: EventStore) {
  const result = await checkAll(store);
  expect(result.sessions).toBeGreaterThan(0);
  expect(result.mismatches).toEqual([]);
}

describe('in-dialog requests must have a higher CSeq than the last one of their dialog', () => {
  it('a BYE at or below the INVITE’s CSeq gets 500 and the call continues; a higher one ends it', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 0), 1);
    // Equal CSeq on a new transaction (a retransmission would reuse the branch): a new request, 500 too.
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 1), 1);
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered', 'CallAcked']);
    await expectStored(h, pbxInDialog(invite, pivotTag, 'BYE', 2), 'HangupReceived');
    expect(await h.types()).toContain('CallEnded');
    await expectReplayClean(h.store);
  });

  it('every stored request raises the bar: a BYE below an accepted re-INVITE gets 500', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    // Checked before anything else: out of order beats "another re-INVITE is under way" (491).
    await expectOutOfOrder(h, { ...pbxInDialog(invite, pivotTag, 'INVITE', 1), body: SDP_PBX }, 1);
    await expectStored(
      h,
      { ...pbxInDialog(invite, pivotTag, 'INVITE', 5), body: SDP_PBX },
      'ReInviteReceived',
    );
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 4), 5);
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 5), 5);
    await expectStored(h, pbxInDialog(invite, pivotTag, 'BYE', 6), 'HangupReceived');
    await expectReplayClean(h.store);
  });

  it('a refused REFER is recorded: a later request must be above it', async () => {
    const h = harness(createInMemoryEventStore(), testConfig({ transferMode: 'disable-all' }));
    const { invite, pivotTag } = await answeredCall(h);
    const refer = pbxInDialog(invite, pivotTag, 'REFER', 7, { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] });
    await expectStored(h, refer, 'ReferReceived');
    expect(h.sent.at(-1)).toMatchObject({ status: 403 });
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 3), 7);
    await expectStored(h, pbxInDialog(invite, pivotTag, 'BYE', 8), 'HangupReceived');
    await expectReplayClean(h.store);
  });

  it('the far leg the pivot placed: unknown until the carrier’s first request, then checked', async () => {
    const h = harness();
    const { invite, pivotTag, farInvite } = await answeredCall(h);
    const carrier = (method: string, seq: number) =>
      peerInDialog(farInvite, method, seq, 'gw') as SipRequestInput;
    await expectStored(h, { ...carrier('INVITE', 100), body: SDP_CARRIER }, 'ReInviteReceived');
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_PBX, 'pbxtag'));
    await expectOutOfOrder(h, carrier('BYE', 99), 100);
    // The PBX's dialog has its own CSeq space.
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 1), 1);
    await expectStored(h, carrier('BYE', 101), 'HangupReceived');
    await expectReplayClean(h.store);
  });

  it('in-dialog OPTIONS are checked too (answered without being stored)', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'OPTIONS', 1), 1);
    const ok = await h.engine.handle(pbxInDialog(invite, pivotTag, 'OPTIONS', 2));
    expect(ok).toMatchObject({ kind: 'replied', why: 'in-dialog OPTIONS' });
    expect(h.sent.at(-1)).toMatchObject({ status: 200 });
  });

  it('ACK and CANCEL carry their INVITE’s CSeq and are not checked', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const ack = await h.engine.handle(pbxInDialog(invite, pivotTag, 'ACK', 1));
    expect(ack.kind).toBe('ignored');
    const reinvite = { ...pbxInDialog(invite, pivotTag, 'INVITE', 2), body: SDP_PBX };
    await expectStored(h, reinvite, 'ReInviteReceived');
    const canceled = await h.engine.handle(cancelOf(reinvite));
    expect(canceled).toMatchObject({ kind: 'replied', why: expect.stringMatching(/re-INVITE .* continues/) });
    expect(h.sent.at(-1)).toMatchObject({ status: 200 });
  });

  it('a retransmission of a stored request is a repeat, not a 500', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    const bye = pbxInDialog(invite, pivotTag, 'BYE', 2);
    await expectStored(h, bye, 'HangupReceived');
    expect((await h.engine.handle(bye)).kind).toBe('repeated');
  });
});

describe('during a transfer and on the child call', () => {
  /** An answered call in which the carrier re-INVITEd with CSeq 10, then the PBX's REFER (CSeq 2). */
  async function referred(h: H) {
    const call = await answeredCall(h);
    const reinvite = peerInDialog(call.farInvite, 'INVITE', 10, 'gw') as SipRequestInput;
    await expectStored(h, { ...reinvite, body: SDP_CARRIER }, 'ReInviteReceived');
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_PBX, 'pbxtag'));
    const refer = pbxInDialog(call.invite, call.pivotTag, 'REFER', 2, {
      'refer-to': ['<sip:bob@127.0.0.1:5080>'],
    });
    await expectStored(h, refer, 'ReferReceived');
    return call;
  }

  it("the accepted REFER is the customer leg's last: a BYE at its CSeq gets 500, above it hangs up", async () => {
    const h = harness();
    const { invite, pivotTag } = await referred(h);
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 2), 2);
    await expectStored(h, pbxInDialog(invite, pivotTag, 'BYE', 3), 'TransferorHungUp');
    await expectReplayClean(h.store);
  });

  it('a second REFER refused 491 while the transfer runs still raises the bar (stored or not)', async () => {
    const h = harness();
    const { invite, pivotTag } = await referred(h);
    const second = pbxInDialog(invite, pivotTag, 'REFER', 4, { 'refer-to': ['<sip:carol@127.0.0.1:5080>'] });
    const before = (await h.types()).length;
    // A 491 changes nothing to remember: answered, not stored (src/engine/refusals.ts).
    expect((await h.engine.handle(second)).kind).toBe('replied');
    expect(await h.types()).toHaveLength(before);
    expect(h.sent.at(-1)).toMatchObject({ status: 491 });
    await expectOutOfOrder(h, pbxInDialog(invite, pivotTag, 'BYE', 3), 4);
    await expectStored(h, pbxInDialog(invite, pivotTag, 'BYE', 5), 'TransferorHungUp');
    await expectReplayClean(h.store);
  });

  it("the carrier's requests on the held far leg are checked while the transfer holds it", async () => {
    const h = harness();
    const { farInvite } = await referred(h);
    const carrier = (seq: number) => peerInDialog(farInvite, 'BYE', seq, 'gw') as SipRequestInput;
    await expectOutOfOrder(h, carrier(9), 10);
    await expectStored(h, carrier(11), 'TransfereeHungUp');
    await expectReplayClean(h.store);
  });

  it("the child call's target and far legs keep their own remote CSeqs", async () => {
    const h = harness();
    const { invite, pivotTag, farInvite } = await referred(h);
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const targetInvite = h.lastRequest('INVITE');
    await h.engine.handle(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob'));
    const reconnected = await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    expect(reconnected.kind === 'stored' && reconnected.events.map((e) => e.type)).toContain(
      'ChildCallStarted',
    );
    await expectStored(h, pbxInDialog(invite, pivotTag, 'BYE', 3), 'HangupReceived');

    const target = (method: string, seq: number) =>
      peerInDialog(targetInvite, method, seq, 'bob') as SipRequestInput;
    // The target leg was placed by the pivot: its first request sets the remote CSeq.
    await expectStored(h, { ...target('INVITE', 20), body: SDP_TARGET }, 'ReInviteReceived');
    await h.engine.handle(answer(h.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    await expectOutOfOrder(h, target('BYE', 19), 20);
    await expectOutOfOrder(h, target('BYE', 20), 20);

    // The far dialog went to the child call with the carrier's re-INVITE (CSeq 10) recorded.
    const carrier = (seq: number) => peerInDialog(farInvite, 'BYE', seq, 'gw') as SipRequestInput;
    await expectOutOfOrder(h, carrier(10), 10);
    await expectStored(h, carrier(11), 'HangupReceived');
    await expectReplayClean(h.store);
  });
});

describe('streams stored before the remote CSeq was recorded', () => {
  it('fold with an unknown remote CSeq: any CSeq is accepted until a request is stored', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    // The same events without `remoteCseq` in the CallReceived legs, as older versions stored them.
    const old = createInMemoryEventStore();
    for (const event of await h.store.readAll()) {
      const data = structuredClone(event.data) as { inbound?: { remoteCseq?: number } };
      if (data.inbound) delete data.inbound.remoteCseq;
      await old.appendToStream(
        event.streamName,
        [{ id: event.id, type: event.type, data, metadata: event.metadata }],
        { expectedRevision: event.revision === 0 ? 'no-stream' : event.revision - 1 },
      );
    }
    await expectReplayClean(old);
    const later = harness(old);
    // Would be out of order had the INVITE's CSeq been recorded; unknown accepts it and records it.
    await expectStored(
      later,
      { ...pbxInDialog(invite, pivotTag, 'INVITE', 1), body: SDP_PBX },
      'ReInviteReceived',
    );
    await later.engine.handle(answer(later.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    await expectOutOfOrder(later, pbxInDialog(invite, pivotTag, 'BYE', 1), 1);
    await expectStored(later, pbxInDialog(invite, pivotTag, 'BYE', 2), 'HangupReceived');
    await expectReplayClean(old);
  });
});
