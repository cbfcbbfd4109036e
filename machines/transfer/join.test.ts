/**
 * Attended transfer joining two pivot calls (join.ts, join-rules.ts, call/lending.ts): the transferring
 * call's session (REFER with Replaces, hand-over, re-INVITEs) and the replaced call's session (lends its
 * far leg, ends for its PBX or takes the leg back), each decided on its own stream.
 */
import { describe, expect, it } from 'vitest';
import {
  answeredCall,
  at,
  carrierLeg,
  policy,
  ROOT,
  referReceived,
  TRANSFER,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { given, history } from '../../test/helpers/sessionSpec.ts';
import type {
  FarLegReturned,
  HandOverRequested,
  ReplacedCall,
  ReplacedCallHandedOver,
  ReplacedCallJoined,
} from '../events.ts';

const OTHER = 'CA99999999999999999999999999999999';
const REPLACES = { callId: 'consult-1@10.20.0.10', toTag: 'pvb-c1', fromTag: 'pbx-b1' };

function replaced(overrides: Partial<ReplacedCall> = {}): ReplacedCall {
  return {
    sessionSid: OTHER,
    callSid: OTHER,
    state: 'inProgress',
    trunkName: 'acme',
    transferMode: 'enable-all',
    sameCustomer: true,
    ...overrides,
  };
}

const attended = (overrides: Partial<ReplacedCall> = {}, earlyOnly = false) =>
  referReceived({
    referTo: ['<sip:+15550300000@acme.pstn.pivot.test?Replaces=consult-1%4010.20.0.10%3Bto-tag%3Dpvb-c1>'],
    replaces: { ...REPLACES, ...(earlyOnly ? { earlyOnly: true } : {}) },
    replaced: replaced(overrides),
  });

const colleagueLeg = carrierLeg('outbound', {
  legId: 'bbbbbbbbbbbbf',
  callId: `pv-${OTHER}-f@203.0.113.5`,
  remote: { uri: 'sip:+15550300000@carrier.example.net', params: { tag: 'colleague-t1' } },
  localCseq: 1,
  remoteSdp: 'v=0\r\nm=audio 40000 RTP/AVP 0\r\n',
});

const handedOver: ReplacedCallHandedOver = {
  type: 'ReplacedCallHandedOver',
  callSid: ROOT,
  transferSid: TRANSFER,
  at: at(21),
  replacedCallSid: OTHER,
  farLeg: colleagueLeg,
  farNumber: '+15550300000',
  customerSdp: 'v=0\r\nm=audio 10002 RTP/AVP 0\r\na=sendrecv\r\n',
};

describe('attended transfer: the transferring call', () => {
  it('accepts a REFER whose Replaces is a pivot call: 202, NOTIFY 100, and asks that session for its far leg', () => {
    const then = given(history(...answeredCall())).when(attended());
    expect(then.eventTypes).toEqual(['ReferReceived', 'ReferAccepted', 'JoinRequested']);
    expect(then.wire).toEqual(['202', 'NOTIFY']);
    expect(then.event('JoinRequested')).toMatchObject({
      replacedSessionSid: OTHER,
      replacedCallSid: OTHER,
      replaces: REPLACES,
    });
    expect(then.transferState()).toBe('joining');
    expect(then.callState()).toBe('transferring');
  });

  it.each([
    [{ state: 'ringing' }, false, 403, 'the Replaces dialog is early: the replaced call is not answered'],
    [{}, true, 486, 'Replaces is early-only, and the replaced call is answered'],
    [
      { sameCustomer: false, trunkName: 'other' },
      false,
      403,
      "the replaced call is another customer's (trunk other)",
    ],
    [
      { transferMode: 'disable-all' as const, trunkName: 'beta' },
      false,
      403,
      "transfers are disabled on trunk beta (the replaced call's)",
    ],
    [{ state: 'relaying' }, false, 403, 'the replaced call is busy (relaying)'],
    [{ callSid: ROOT, sessionSid: ROOT }, false, 403, 'Replaces names the call the REFER came in'],
  ])('refuses up front: %o early-only=%s -> %i %s', (call, earlyOnly, status, reason) => {
    const then = given(history(...answeredCall())).when(attended(call, earlyOnly));
    expect(then.eventTypes).toEqual(['ReferReceived', 'ReferRejected']);
    expect(then.event('ReferRejected')).toMatchObject({ status, reason });
    expect(then.response(status).headers?.Warning).toBe(`399 sip-pivot "${reason}"`);
  });

  it("refuses when the transferring call's own trunk disables transfers", () => {
    const then = given(history(...answeredCall())).when(
      referReceived({ ...attended(), policy: policy({ transferMode: 'disable-all' }) }),
    );
    expect(then.event('ReferRejected')).toMatchObject({
      status: 403,
      reason: 'transfers are disabled on trunk acme',
    });
  });

  it('re-INVITEs the lent far leg without SDP in its own dialog (next CSeq)', () => {
    const then = given(history(...answeredCall(), attended())).when(handedOver);
    const reinvite = then.request('INVITE');
    expect(reinvite).toMatchObject({ callId: colleagueLeg.callId, cseq: { seq: 2, method: 'INVITE' } });
    expect(reinvite.body).toBeUndefined();
    expect(then.transferState()).toBe('inviting');
  });

  it("the colleague's offer goes to the customer, and the PBX hears 200", () => {
    const then = given(history(...answeredCall(), attended(), handedOver)).when(
      transferResponse('TargetAnswered', {
        sdp: 'v=0\r\nm=audio 40000 RTP/AVP 0\r\n',
        remoteTag: 'colleague-t1',
      }),
    );
    expect(then.wire).toEqual(['INVITE', 'NOTIFY']);
    expect(then.request('INVITE').body).toMatch(/m=audio 40000 /);
    expect(then.request('NOTIFY').body).toBe('SIP/2.0 200 OK\r\n');
  });

  it("the customer's answer completes the join: both ACKed, TransferCompleted linked to B, JoinEnded joined", () => {
    const then = given(
      history(
        ...answeredCall(),
        attended(),
        handedOver,
        transferResponse('TargetAnswered', { sdp: 'v=0\r\nm=audio 40000 RTP/AVP 0\r\n' }),
      ),
    ).when(transferResponse('TransfereeReconnected', { sdp: 'v=0\r\nm=audio 20000 RTP/AVP 0\r\n' }));
    expect(then.wire).toEqual(['ACK', 'ACK']);
    expect(then.requests[1]!.callId).toBe(colleagueLeg.callId);
    expect(then.requests[1]!.body).toMatch(/m=audio 20000 /);
    expect(then.event('TransferCompleted').joinedCallSid).toBe(OTHER);
    expect(then.event('ChildCallStarted').joinedCallSid).toBe(OTHER);
    expect(then.event('JoinEnded')).toMatchObject({ outcome: 'joined', replacedSessionSid: OTHER });
  });

  it('the colleague refuses: the PBX is told, call A goes on untouched, the leg goes back (CSeq kept)', () => {
    const then = given(history(...answeredCall(), attended(), handedOver)).when(
      transferResponse('TargetFailed', { status: 488, reason: 'Not Acceptable Here' }),
    );
    expect(then.wire).toEqual(['NOTIFY']);
    expect(then.callState()).toBe('inProgress');
    expect(then.event('JoinEnded')).toMatchObject({ outcome: 'returned', status: 488 });
    expect(then.event('JoinEnded').farLeg?.localCseq).toBe(2);
  });

  it('the hand-over refused by the replaced call: NOTIFY with its status, nothing else', () => {
    const then = given(history(...answeredCall(), attended())).when({
      type: 'ReplacedCallRefused',
      callSid: ROOT,
      transferSid: TRANSFER,
      at: at(21),
      status: 481,
      reason: 'the replaced call has ended',
    });
    expect(then.wire).toEqual(['NOTIFY']);
    expect(then.request('NOTIFY').body).toBe('SIP/2.0 481 the replaced call has ended\r\n');
    expect(then.eventTypes).not.toContain('JoinEnded');
  });
});

describe('attended transfer: the replaced call', () => {
  const ask = (overrides: Partial<HandOverRequested> = {}): HandOverRequested => ({
    type: 'HandOverRequested',
    callSid: ROOT,
    at: at(21),
    transferSid: TRANSFER,
    fromSessionSid: OTHER,
    fromCallSid: OTHER,
    // The PBX's dialog of this call: our tag pv-c1, the PBX's pbx-a1 (fixtures).
    replaces: { callId: '5c1d8e2a-77f0@10.20.0.10', toTag: 'pv-c1', fromTag: 'pbx-a1' },
    ...overrides,
  });

  it('lends its far leg to the asking transfer and waits', () => {
    const then = given(history(...answeredCall())).when(ask());
    expect(then.eventTypes).toEqual(['HandOverRequested', 'FarLegHandedOver']);
    expect(then.event('FarLegHandedOver')).toMatchObject({ toSessionSid: OTHER, farNumber: '+442079460000' });
    expect(then.wire).toEqual([]);
    expect(then.callState()).toBe('lending');
  });

  it('refuses a Replaces that names another dialog (481)', () => {
    const then = given(history(...answeredCall())).when(
      ask({ replaces: { callId: '5c1d8e2a-77f0@10.20.0.10', toTag: 'nope', fromTag: 'pbx-a1' } }),
    );
    expect(then.event('HandOverRefused')).toMatchObject({ status: 481 });
    expect(then.callState()).toBe('inProgress');
  });

  it('answers a repeated hand-over again (a delivery after a restart), with the same leg', () => {
    const first = given(history(...answeredCall())).when(ask());
    const then = given(history(...answeredCall(), ask())).when(ask());
    expect(then.event('FarLegHandedOver').farLeg).toEqual(first.event('FarLegHandedOver').farLeg);
    expect(then.callState()).toBe('lending');
  });

  it('joined elsewhere: BYEs its PBX leg and ends completed', () => {
    const joined: ReplacedCallJoined = {
      type: 'ReplacedCallJoined',
      callSid: ROOT,
      at: at(30),
      transferSid: TRANSFER,
      childCallSid: 'CA1111111111111111111111111111aaaa',
    };
    const then = given(history(...answeredCall(), ask())).when(joined);
    expect(then.wire).toEqual(['BYE']);
    expect(then.request('BYE').callId).toBe('5c1d8e2a-77f0@10.20.0.10');
    expect(then.event('CallEnded').status).toBe('completed');
  });

  it('the leg comes back: the call goes on with the CSeqs the transfer used', () => {
    const back: FarLegReturned = {
      type: 'FarLegReturned',
      callSid: ROOT,
      at: at(30),
      transferSid: TRANSFER,
      farLeg: { ...carrierLeg('outbound'), localCseq: 4 },
      status: 488,
      reason: 'Not Acceptable Here',
    };
    const then = given(history(...answeredCall(), ask())).when(back);
    expect(then.callState()).toBe('inProgress');
    expect(then.call().context.legs.far?.localCseq).toBe(4);
  });
});
