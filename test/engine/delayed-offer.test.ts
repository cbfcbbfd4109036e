/**
 * Delayed offer through the engine (RFC 3261 §13.2.1, §14): an INVITE or re-INVITE without SDP, the
 * offer in the 2xx, the answer in the ACK. Only the ACK that carries the answer is stored; the 2xx the
 * callee retransmits before that ACK exists is a repeat (no second event, no second 200).
 */
import { describe, expect, it } from 'vitest';
import { checkAll } from '../../src/engine/replay.ts';
import type { SendRequestCommand, SendResponseCommand, SipRequestInput } from '../../src/shared/messages.ts';
import { answer, pbxInDialog, pbxInvite, SDP_CARRIER, SDP_PBX, testConfig } from '../helpers/sipInputs.ts';
import { answeredCall, type H, harness } from './dialogSetup.ts';

function mediaOf(body: string | undefined): string[] {
  return (body ?? '').split(/\r?\n/).filter((l) => l.length > 0 && !l.startsWith('o='));
}

function requestsSince(h: H, from: number): SendRequestCommand[] {
  return h.sent.slice(from).filter((c): c is SendRequestCommand => c.kind === 'request');
}

function responsesSince(h: H, from: number): SendResponseCommand[] {
  return h.sent.slice(from).filter((c): c is SendResponseCommand => c.kind === 'response');
}

function ackFrom(invite: SipRequestInput, pivotTag: string, body: string): SipRequestInput {
  return { ...pbxInDialog(invite, pivotTag, 'ACK', invite.cseq.seq), body };
}

describe('delayed offer on a termination call, through the engine', () => {
  async function delayedCall(h: H) {
    const invite = { ...pbxInvite(), body: '' };
    await h.engine.handle(invite);
    const farInvite = h.lastRequest('INVITE');
    const mark = h.sent.length;
    const ok = answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw');
    await h.engine.handle(ok);
    const to200 = responsesSince(h, mark).find((r) => r.status === 200);
    if (!to200?.toTag) throw new Error('no 200 to the PBX');
    return { invite, farInvite, ok, pivotTag: to200.toTag, to200 };
  }

  it('INVITE without body out, the offer in our 200, the ACK answer relayed in the ACK to the carrier', async () => {
    const h = harness();
    const { invite, farInvite, ok, pivotTag, to200 } = await delayedCall(h);
    expect(farInvite.body).toBeUndefined();
    expect(mediaOf(to200.body)).toEqual(mediaOf(SDP_CARRIER));
    expect(h.sent.some((c) => c.kind === 'request' && c.method === 'ACK')).toBe(false);
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered']);

    // The carrier retransmits its 200 until ACKed: a repeat, nothing stored, the same 200 re-sent
    // (the adapter's answered transaction absorbs it), still no ACK.
    const beforeRepeat = h.sent.length;
    expect(await h.engine.handle(ok)).toMatchObject({ kind: 'repeated' });
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered']);
    expect(requestsSince(h, beforeRepeat)).toEqual([]);
    expect(responsesSince(h, beforeRepeat)).toEqual([to200]);

    const mark = h.sent.length;
    const ack = ackFrom(invite, pivotTag, SDP_PBX);
    expect(await h.engine.handle(ack)).toMatchObject({ kind: 'stored' });
    const [toCarrier, ...others] = requestsSince(h, mark);
    expect(others).toEqual([]);
    expect(toCarrier).toMatchObject({ method: 'ACK', callId: farInvite.callId, cseq: { seq: 1 } });
    expect(mediaOf(toCarrier?.body)).toEqual(mediaOf(SDP_PBX));
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered', 'CallAcked']);

    // A retransmitted ACK and any later ACK are not stored again.
    expect(await h.engine.handle(ack)).toMatchObject({ kind: 'repeated' });
    const later = ackFrom(invite, pivotTag, SDP_PBX);
    expect(await h.engine.handle(later)).toMatchObject({ kind: 'ignored' });
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered', 'CallAcked']);
    expect((await checkAll(h.store)).mismatches).toEqual([]);
  });

  it('an ACK without SDP: the carrier is ACKed with its streams rejected and BYEd, the PBX BYEd', async () => {
    const h = harness();
    const { invite, farInvite, pivotTag } = await delayedCall(h);
    const mark = h.sent.length;
    await h.engine.handle(ackFrom(invite, pivotTag, ''));
    const sent = requestsSince(h, mark);
    expect(sent.map((r) => `${r.method} ${r.callId === farInvite.callId ? 'far' : 'pbx'}`)).toEqual([
      'ACK far',
      'BYE far',
      'BYE pbx',
    ]);
    expect(sent[0]?.body).toMatch(/^m=audio 0 /m);
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered', 'CallAcked', 'CallEnded']);
    const ended = (await h.store.readAll()).find((e) => e.type === 'CallEnded')!;
    expect(ended.data).toMatchObject({ status: 'failed', why: expect.stringMatching(/no answer/) });
  });

  it('a 200 from another fork carries an offer too: its ACK answers it rejecting every stream, then BYE', async () => {
    const h = harness();
    const { farInvite } = await delayedCall(h);
    const mark = h.sent.length;
    const outcome = await h.engine.handle(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw2'));
    expect(outcome).toMatchObject({ kind: 'replied' });
    const [ack, bye, ...others] = requestsSince(h, mark);
    expect(others).toEqual([]);
    expect(ack).toMatchObject({ method: 'ACK', to: { params: { tag: 'gw2' } } });
    expect(ack?.body).toMatch(/^m=audio 0 /m);
    expect(ack?.body).toMatch(/^o=sip-pivot /m);
    expect(bye).toMatchObject({ method: 'BYE', to: { params: { tag: 'gw2' } } });
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered']);
  });

  it('the ACK of an ordinary call (offer in the INVITE) is stored once: a retransmission is not', async () => {
    const h = harness();
    const { invite, pivotTag } = await answeredCall(h);
    expect(await h.engine.handle(ackFrom(invite, pivotTag, ''))).toMatchObject({ kind: 'ignored' });
    expect(await h.types()).toEqual(['CallReceived', 'CallAnswered', 'CallAcked']);
  });
});

describe('an offer-less re-INVITE relayed in an established call', () => {
  it("the carrier's 200 offer goes to the PBX in our 200; the PBX's ACK answer goes to the carrier", async () => {
    const h = harness();
    const { invite, pivotTag, farInvite } = await answeredCall(h);
    const reinvite = pbxInDialog(invite, pivotTag, 'INVITE', 2);
    await h.engine.handle(reinvite);
    const relayed = h.lastRequest('INVITE');
    expect(relayed.cseq.seq).toBe(2);
    expect(relayed.body).toBeUndefined();

    const mark = h.sent.length;
    await h.engine.handle(answer(relayed, 200, 'OK', SDP_CARRIER, 'gw'));
    expect(requestsSince(h, mark)).toEqual([]);
    const [ok] = responsesSince(h, mark);
    expect(ok).toMatchObject({ transactionKey: reinvite.transactionKey, status: 200 });
    expect(mediaOf(ok?.body)).toEqual(mediaOf(SDP_CARRIER));

    const acked = h.sent.length;
    await h.engine.handle({ ...pbxInDialog(invite, pivotTag, 'ACK', 2), body: SDP_PBX });
    const [ack, ...others] = requestsSince(h, acked);
    expect(others).toEqual([]);
    expect(ack).toMatchObject({ method: 'ACK', callId: farInvite.callId, cseq: { seq: 2 } });
    expect(mediaOf(ack?.body)).toEqual(mediaOf(SDP_PBX));
    expect(await h.types()).toEqual([
      'CallReceived',
      'CallAnswered',
      'CallAcked',
      'ReInviteReceived',
      'ReInviteAnswered',
      'CallAcked',
    ]);
    expect((await checkAll(h.store)).mismatches).toEqual([]);
  });
});

describe('an offer-less re-INVITE relayed to a carrier that challenges it', () => {
  const challenge = {
    'www-authenticate': ['Digest realm="carrier.pivot.test", nonce="r3-n0nce", algorithm=MD5, qop="auth"'],
  };
  const withCredentials = () => {
    const config = testConfig();
    return harness(undefined, {
      ...config,
      carrier: { ...config.carrier, credentials: { username: 'pivot', password: 'secret' } },
    });
  };

  async function challenged(h: H) {
    const { invite, pivotTag } = await answeredCall(h);
    const reinvite = pbxInDialog(invite, pivotTag, 'INVITE', 2);
    await h.engine.handle(reinvite);
    const relayed = h.lastRequest('INVITE');
    const mark = h.sent.length;
    await h.engine.handle({ ...answer(relayed, 401, 'Unauthorized', '', 'gw'), headers: challenge });
    return { reinvite, relayed, mark };
  }

  it('is sent once more with credentials and still no offer; the answer then goes to the PBX', async () => {
    const h = withCredentials();
    const { reinvite, relayed, mark } = await challenged(h);
    const [again, ...others] = requestsSince(h, mark);
    expect(others).toEqual([]);
    expect(responsesSince(h, mark)).toEqual([]);
    expect(again).toMatchObject({
      method: 'INVITE',
      callId: relayed.callId,
      cseq: { seq: relayed.cseq.seq + 1 },
    });
    expect(again?.body).toBeUndefined();
    expect(again?.headers?.Authorization).toMatch(/^Digest username="pivot", realm="carrier\.pivot\.test"/);

    const answered = h.sent.length;
    await h.engine.handle(answer(again!, 200, 'OK', SDP_CARRIER, 'gw'));
    const [ok] = responsesSince(h, answered);
    expect(ok).toMatchObject({ transactionKey: reinvite.transactionKey, status: 200 });
    expect(mediaOf(ok?.body)).toEqual(mediaOf(SDP_CARRIER));
    expect((await checkAll(h.store)).mismatches).toEqual([]);
  });

  it('a second challenge is relayed to the PBX as the answer', async () => {
    const h = withCredentials();
    const { reinvite, mark } = await challenged(h);
    const again = requestsSince(h, mark)[0]!;
    const refused = h.sent.length;
    await h.engine.handle({ ...answer(again, 401, 'Unauthorized', '', 'gw'), headers: challenge });
    expect(requestsSince(h, refused)).toEqual([]);
    expect(responsesSince(h, refused)).toMatchObject([
      { transactionKey: reinvite.transactionKey, status: 401 },
    ]);
  });
});
