/**
 * The replaced call's far party hangs up while its leg is lent to the join (join.ts, call/lending.ts),
 * and the replaced call's timers while it lends that leg: each call ends or goes on as its parties would
 * expect, and no timer is lost.
 */
import { describe, expect, it } from 'vitest';
import {
  at,
  callAnswered,
  callReceived,
  carrierLeg,
  ROOT,
  referReceived,
  TRANSFER,
  timerFired,
  transferResponse,
  tx,
} from '../../test/helpers/fixtures.ts';
import { given, history } from '../../test/helpers/sessionSpec.ts';
import type {
  FarLegReturned,
  HandOverRequested,
  Reapers,
  ReplacedCallHandedOver,
  ReplacedCallJoined,
  SessionEvent,
  TargetHungUp,
  TimerScheduled,
} from '../events.ts';

const OTHER = 'CA99999999999999999999999999999999';
const REPLACES = { callId: 'consult-1@10.20.0.10', toTag: 'pvb-c1', fromTag: 'pbx-b1' };
const PBX_HELD_SDP = 'v=0\r\nm=audio 10002 RTP/AVP 0\r\na=sendonly\r\n';
const COLLEAGUE_SDP = 'v=0\r\nm=audio 40000 RTP/AVP 0\r\n';

const attended = () =>
  referReceived({
    referTo: ['<sip:+15550300000@acme.pstn.pivot.test?Replaces=consult-1%4010.20.0.10%3Bto-tag%3Dpvb-c1>'],
    replaces: REPLACES,
    replaced: {
      sessionSid: OTHER,
      callSid: OTHER,
      state: 'inProgress',
      trunkName: 'acme',
      transferMode: 'enable-all',
      sameCustomer: true,
    },
  });

const colleagueLeg = carrierLeg('outbound', {
  legId: 'bbbbbbbbbbbbf',
  callId: `pv-${OTHER}-f@203.0.113.5`,
  remote: { uri: 'sip:+15550300000@carrier.example.net', params: { tag: 'colleague-t1' } },
  localCseq: 1,
  remoteCseq: 1,
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

const colleagueBye = (seconds: number): TargetHungUp => ({
  type: 'TargetHungUp',
  callSid: ROOT,
  transferSid: TRANSFER,
  at: at(seconds),
  bye: tx(`z9hG4bK-colleague-bye-${seconds}|BYE`),
  cseq: 2,
});

/** Call A answered with the PBX's SDP on hold (the agent held the customer before consulting). */
const heldCall = () => [callReceived({ sdp: PBX_HELD_SDP }), callAnswered()];
const colleagueAnswered = () =>
  transferResponse('TargetAnswered', { at: at(25), sdp: COLLEAGUE_SDP, remoteTag: 'colleague-t1' });

describe('attended transfer: the replaced far party hangs up during the join', () => {
  it("before answering the join's re-INVITE: its BYE gets 200, the PBX NOTIFY 487, call A goes on", () => {
    const then = given(history(...heldCall(), attended(), handedOver)).when(colleagueBye(23));
    expect(then.wire).toEqual(['200', 'NOTIFY']);
    expect(then.request('NOTIFY').body).toBe('SIP/2.0 487 Request Terminated\r\n');
    expect(then.request('NOTIFY').headers?.['Subscription-State']).toMatch(/^terminated/);
    expect(then.transferState()).toBe('failed');
    // A's far party was never re-INVITEd: it stays held by the PBX, which has its call back.
    expect(then.callState()).toBe('inProgress');
    expect(then.event('TransferFailed')).toMatchObject({ status: 487, transferorGone: false });
    expect(then.event('JoinEnded')).toMatchObject({ outcome: 'returned', farPartyGone: true });
  });

  it("after answering: its BYE gets 200; our far party's 200 is ACKed and it is put back with the PBX", () => {
    const reconnecting = history(...heldCall(), attended(), handedOver, colleagueAnswered());
    const left = given(reconnecting).when(colleagueBye(26));
    expect(left.wire).toEqual(['200']);
    expect(left.transferState()).toBe('reconnecting');

    const then = given([...reconnecting, ...left.events]).when(
      transferResponse('TransfereeReconnected', { at: at(27), sdp: 'v=0\r\nm=audio 20000 RTP/AVP 0\r\n' }),
    );
    expect(then.wire).toEqual(['ACK', 'ACK', 'INVITE']);
    const [ackFar, ackColleague, resume] = then.requests;
    const farCallId = resume!.callId;
    expect(ackFar!.callId).toBe(farCallId);
    expect(ackColleague!.callId).toBe(colleagueLeg.callId);
    // Back on hold with the PBX, as before the REFER: the PBX's own SDP.
    expect(resume!.body).toMatch(/a=sendonly/);
    expect(then.transferState()).toBe('resuming');
    expect(then.event('JoinEnded')).toMatchObject({ outcome: 'returned', farPartyGone: true });

    const resumed = given([...reconnecting, ...left.events, ...then.events]).when(
      transferResponse('TransfereeResumed', { at: at(28) }),
    );
    expect(resumed.wire).toEqual(['ACK']);
    expect(resumed.transferState()).toBe('failed');
    expect(resumed.callState()).toBe('inProgress');
  });

  it('after answering, with the PBX gone on the final NOTIFY: our far party is ACKed and BYEd, call A ends', () => {
    const reconnecting = history(
      ...heldCall(),
      attended(),
      handedOver,
      colleagueAnswered(),
      {
        type: 'TransferorHungUp',
        callSid: ROOT,
        transferSid: TRANSFER,
        at: at(26),
        bye: tx('z9hG4bK-pbx-bye|BYE'),
        cseq: 4,
      },
      colleagueBye(26),
    );
    const then = given(reconnecting).when(
      transferResponse('TransfereeReconnected', { at: at(27), sdp: 'v=0\r\nm=audio 20000 RTP/AVP 0\r\n' }),
    );
    expect(then.wire).toEqual(['ACK', 'ACK', 'BYE']);
    expect(then.requests[2]!.callId).toBe(then.requests[0]!.callId);
    expect(then.callState()).toBe('ended');
    expect(then.event('CallEnded').status).toBe('completed');
    expect(then.event('JoinEnded')).toMatchObject({ farPartyGone: true });
  });

  it("our far party refuses the offer after the colleague left: the leg goes back, the far party's session untouched", () => {
    const reconnecting = history(
      ...heldCall(),
      attended(),
      handedOver,
      colleagueAnswered(),
      colleagueBye(26),
    );
    const then = given(reconnecting).when(
      transferResponse('TransfereeReconnected', { at: at(27), status: 491, reason: 'Request Pending' }),
    );
    // No retry of an offer whose offerer is gone: the colleague's 2xx is ACKed, the join given up.
    expect(then.wire).toEqual(['ACK']);
    expect(then.eventTypes).not.toContain('TimerScheduled');
    expect(then.event('JoinEnded')).toMatchObject({ farPartyGone: true });
    expect(then.callState()).toBe('inProgress');
  });
});

describe("attended transfer: the replaced far party never answers the join's re-INVITE", () => {
  it('waits no longer than a target may ring: CANCEL, NOTIFY 408, call A goes on, the leg goes back', () => {
    const lent = given(history(...heldCall(), attended())).when(handedOver);
    const timer = lent.event('TimerScheduled');
    expect(timer).toMatchObject({ name: 'no-answer', timerId: `${TRANSFER}:no-answer` });
    expect(Date.parse(timer.dueAt) - Date.parse(timer.at)).toBe(30_000);

    const then = given(history(...heldCall(), attended(), handedOver)).when(
      timerFired('no-answer', timer.timerId, { transferSid: TRANSFER, at: at(51) }),
    );
    expect(then.wire).toEqual(['CANCEL', 'NOTIFY']);
    expect(then.request('CANCEL').callId).toBe(colleagueLeg.callId);
    expect(then.request('NOTIFY').body).toBe('SIP/2.0 408 Request Timeout\r\n');
    expect(then.callState()).toBe('inProgress');
    expect(then.event('JoinEnded')).toMatchObject({ outcome: 'returned', status: 408 });
    expect(then.event('JoinEnded').farPartyGone).toBeUndefined();
  });

  it('its answer stops the wait', () => {
    const then = given(history(...heldCall(), attended(), handedOver)).when(colleagueAnswered());
    expect(then.events.filter((e) => e.type === 'TimerCanceled')).toMatchObject([
      { timerId: `${TRANSFER}:no-answer` },
    ]);
  });
});

const limits: Reapers = { timerCSeconds: 10, ackTimeoutSeconds: 32, maxCallSeconds: 3600 };
const ask: HandOverRequested = {
  type: 'HandOverRequested',
  callSid: ROOT,
  at: at(21),
  transferSid: TRANSFER,
  fromSessionSid: OTHER,
  fromCallSid: OTHER,
  // The PBX's dialog of this call: our tag pv-c1, the PBX's pbx-a1 (fixtures).
  replaces: { callId: '5c1d8e2a-77f0@10.20.0.10', toTag: 'pv-c1', fromTag: 'pbx-a1' },
};
const returned = (overrides: Partial<FarLegReturned> = {}): FarLegReturned => ({
  type: 'FarLegReturned',
  callSid: ROOT,
  at: at(40),
  transferSid: TRANSFER,
  farLeg: { ...carrierLeg('outbound'), localCseq: 2 },
  status: 487,
  reason: 'Request Terminated',
  ...overrides,
});

function scheduled(events: SessionEvent[], name: string): TimerScheduled {
  const found = events
    .filter((e): e is TimerScheduled => e.type === 'TimerScheduled' && e.name === name)
    .at(-1);
  if (!found) throw new Error(`no ${name} timer`);
  return found;
}

describe('attended transfer: the replaced call when its far party hung up during the join', () => {
  it('ends: its PBX is BYEd (not the far party, gone), completed, its timers canceled', () => {
    const lending = history(callReceived({ reapers: limits }), callAnswered(), ask);
    const then = given(lending).when(returned({ farPartyGone: true }));
    expect(then.wire).toEqual(['BYE']);
    expect(then.request('BYE').callId).toBe('5c1d8e2a-77f0@10.20.0.10');
    expect(then.callState()).toBe('ended');
    expect(then.event('CallEnded').status).toBe('completed');
    expect(then.events.filter((e) => e.type === 'TimerCanceled')).toMatchObject([
      { timerId: `${ROOT}:max-call` },
    ]);
  });

  it('with its PBX gone too: nobody to BYE, it just ends', () => {
    const lending = history(callReceived(), callAnswered(), ask, {
      type: 'HangupReceived',
      callSid: ROOT,
      at: at(30),
      leg: 'customer',
      bye: tx('z9hG4bK-pbx-bye-b|BYE'),
      cseq: 3,
    });
    const then = given(lending).when(returned({ farPartyGone: true }));
    expect(then.wire).toEqual([]);
    expect(then.callState()).toBe('ended');
  });
});

describe('attended transfer: the replaced call keeps its timers while lending', () => {
  it('its call limit, due while lending, looks again shortly and ends the call once the leg is back', () => {
    const lending = history(callReceived({ reapers: limits }), callAnswered(), ask);
    const limit = scheduled(lending, 'max-call');
    const due = given(lending).when(timerFired('max-call', limit.timerId, { at: at(3600) }));
    expect(due.accepted).toBe(true);
    expect(due.wire).toEqual([]);
    expect(due.callState()).toBe('lending');
    const again = scheduled(due.events, 'max-call');
    expect(Date.parse(again.dueAt) - Date.parse(again.at)).toBe(30_000);

    const back = given([...lending, ...due.events]).when(returned({ at: at(3610) }));
    expect(back.callState()).toBe('inProgress');
    const then = given([...lending, ...due.events, ...back.events]).when(
      timerFired('max-call', again.timerId, { at: at(3630) }),
    );
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(then.callState()).toBe('ended');
    expect(then.event('CallEnded').why).toContain('maxCallSeconds');
  });

  it('its session timer, whose refreshes it could not take while lending, is re-armed when the leg is back', () => {
    const lending = history(callReceived({ sessionExpires: 1800 }), callAnswered(), ask);
    const first = scheduled(lending, 'session-expires');
    const back = given(lending).when(returned());
    expect(back.callState()).toBe('inProgress');
    const rearmed = scheduled(back.events, 'session-expires');
    expect(rearmed.timerId).not.toBe(first.timerId);
    expect(rearmed.dueAt).toBe(new Date(Date.parse(at(40)) + 1_800_000).toISOString());
    const then = given([...lending, ...back.events]).when(
      timerFired('session-expires', rearmed.timerId, { at: at(1840) }),
    );
    expect(then.wire).toEqual(['BYE', 'BYE']);
    expect(then.callState()).toBe('ended');
  });

  it('joined elsewhere: its call limit is canceled with it (the joined call has its own)', () => {
    const lending = history(callReceived({ reapers: limits }), callAnswered(), ask);
    const joined: ReplacedCallJoined = {
      type: 'ReplacedCallJoined',
      callSid: ROOT,
      at: at(30),
      transferSid: TRANSFER,
      childCallSid: 'CA1111111111111111111111111111aaaa',
    };
    const then = given(lending).when(joined);
    expect(then.events.filter((e) => e.type === 'TimerCanceled')).toMatchObject([
      { timerId: `${ROOT}:max-call` },
    ]);
  });
});
