/**
 * RFC 3261 §12.2.2 remote sequence numbers: every leg's dialog records the CSeq of the last request its
 * peer sent (the INVITE for a leg that called us, then every in-dialog request a machine accepts), folded
 * from the stored events like the rest of the dialog. classify.ts refuses lower CSeqs with it.
 */
import { describe, expect, it } from 'vitest';
import {
  answeredCall,
  at,
  CHILD,
  CHILD_2,
  callAnswered,
  callReceived,
  carrierLeg,
  hangup,
  pbxLeg,
  ROOT,
  referReceived,
  TRANSFER,
  TRANSFER_2,
  targetBusy,
  targetInvited,
  targetUp,
  timerFired,
  transfereeHungUp,
  transferorHungUp,
  transferResponse,
  tx,
} from '../test/helpers/fixtures.ts';
import { fold, given, history, live, spec } from '../test/helpers/sessionSpec.ts';
import { keepRemoteCseq, outOfOrder, requestReceived } from './dialog.ts';
import type { ReInviteReceived, SessionEvent } from './events.ts';
import type { SessionState } from './session.ts';

/** A call whose PBX INVITE had CSeq 1 (as classify records it), answered by the carrier. */
const pbxInviteCseq1 = () => callReceived({ inbound: pbxLeg('inbound', { remoteCseq: 1 }) });
const answered = () => history(pbxInviteCseq1(), callAnswered());

function reInvite(leg: ReInviteReceived['leg'], cseq: number, sdp = 'v=0\r\n'): ReInviteReceived {
  return {
    type: 'ReInviteReceived',
    callSid: ROOT,
    at: at(10),
    leg,
    reinvite: tx(`z9hG4bK-reinvite-${leg}-${cseq}|INVITE`),
    sdp,
    cseq,
  };
}

/** Remote CSeq of each leg of a call, and of each leg a transfer holds. */
function remoteCseqs(session: SessionState, callSid = ROOT) {
  const legs = session.calls[callSid]?.context.legs ?? {};
  return Object.fromEntries(Object.entries(legs).map(([name, dialog]) => [name, dialog?.remoteCseq]));
}
function transferCseqs(session: SessionState, transferSid = TRANSFER) {
  const ctx = session.transfers[transferSid]?.context;
  return {
    customer: ctx?.customer?.remoteCseq,
    far: ctx?.far?.remoteCseq,
    target: ctx?.target?.remoteCseq,
  };
}

/** The contexts decided live equal the contexts folded back from the stored events. */
function expectFoldsBack(inputs: SessionEvent[]) {
  const decisions = live(inputs);
  const stored = decisions.flatMap((d) => d.events);
  const contexts = (s: SessionState) => ({
    calls: Object.fromEntries(Object.entries(s.calls).map(([sid, c]) => [sid, [c.value, c.context]])),
    transfers: Object.fromEntries(Object.entries(s.transfers).map(([sid, t]) => [sid, [t.value, t.context]])),
  });
  expect(contexts(fold(stored))).toEqual(contexts(decisions.at(-1)!.session));
  return fold(stored);
}

describe('remote CSeq rules (dialog.ts)', () => {
  const dialog = carrierLeg('outbound');

  it('unknown accepts anything; a known one accepts only higher CSeqs', () => {
    expect(outOfOrder(undefined, 0, 'BYE')).toBeUndefined();
    expect(outOfOrder(4, 5, 'BYE')).toBeUndefined();
    expect(outOfOrder(4, 4, 'BYE')).toMatch(/CSeq 4 BYE is not above the dialog's last remote CSeq 4/);
    expect(outOfOrder(4, 3, 'INVITE')).toMatch(/CSeq 3 INVITE .* remote CSeq 4 \(RFC 3261 §12\.2\.2\)/);
  });

  it('a request sets an unknown remote CSeq and raises a known one, never lowers it', () => {
    expect(dialog.remoteCseq).toBeUndefined();
    const first = requestReceived(dialog, 7);
    expect(first.remoteCseq).toBe(7);
    expect(requestReceived(first, 9).remoteCseq).toBe(9);
    expect(requestReceived(first, 3)).toBe(first);
    // An event stored before requests carried their CSeq changes nothing.
    expect(requestReceived(first, undefined)).toBe(first);
  });

  it('of two copies of a dialog, the higher remote CSeq is kept', () => {
    const seen5 = requestReceived(dialog, 5);
    expect(keepRemoteCseq(dialog, seen5).remoteCseq).toBe(5);
    expect(keepRemoteCseq(seen5, dialog)).toBe(seen5);
    expect(keepRemoteCseq(seen5, undefined)).toBe(seen5);
  });
});

describe('call legs record the remote CSeq', () => {
  it("the INVITE's CSeq is the inbound leg's; the leg the pivot placed starts unknown", () => {
    const session = fold(answered());
    expect(remoteCseqs(session)).toEqual({ customer: 1, far: undefined });
  });

  it("a BYE raises its leg's remote CSeq (the call ends, the BYE is recorded)", () => {
    const then = spec({
      given: answered(),
      when: hangup('customer', { cseq: 4 }),
      thenEvents: ['HangupReceived', 'CallEnded'],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(remoteCseqs(then.session)).toEqual({ customer: 4, far: undefined });
  });

  it("the carrier's first request sets the far leg's remote CSeq", () => {
    const then = given(answered()).when(hangup('far', { cseq: 1 }));
    expect(remoteCseqs(then.session)).toEqual({ customer: 1, far: 1 });
  });

  it("a re-INVITE raises the asking leg's remote CSeq, not the other leg's", () => {
    const then = spec({
      given: answered(),
      when: reInvite('customer', 2),
      thenEvents: ['ReInviteReceived'],
      thenState: { calls: { [ROOT]: 'relaying' } },
    });
    expect(remoteCseqs(then.session)).toEqual({ customer: 2, far: undefined });
    const session = expectFoldsBack([
      pbxInviteCseq1(),
      callAnswered(),
      reInvite('far', 11),
      { type: 'ReInviteAnswered', callSid: ROOT, at: at(11), status: 200, reason: 'OK', sdp: 'v=0\r\n' },
      reInvite('customer', 3),
    ]);
    expect(remoteCseqs(session)).toEqual({ customer: 3, far: 11 });
  });

  it('an originating call: the carrier leg called us (its INVITE counts), the PBX leg starts unknown', () => {
    const session = expectFoldsBack([
      callReceived({
        direction: 'trunking-originating',
        inbound: carrierLeg('inbound', { remoteCseq: 101 }),
      }),
      callAnswered({ direction: 'trunking-originating' }),
      hangup('customer', { cseq: 1 }),
    ]);
    expect(remoteCseqs(session)).toEqual({ far: 101, customer: 1 });
  });

  it('events stored before the field existed fold as before: unknown stays unknown', () => {
    const session = fold(history(...answeredCall(), hangup('customer')));
    expect(remoteCseqs(session)).toEqual({ customer: undefined, far: undefined });
  });
});

describe('refused REFERs are recorded in the call', () => {
  it("a REFER from the carrier side is refused 403 and raises the far leg's remote CSeq", () => {
    const then = spec({
      given: answered(),
      when: referReceived({ leg: 'far', cseq: 6 }),
      thenEvents: ['ReferReceived', { type: 'ReferRejected', status: 403, leg: 'far', cseq: 6 }],
      thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER]: 'rejected' } },
    });
    expect(then.wire).toEqual(['403']);
    expect(remoteCseqs(then.session)).toEqual({ customer: 1, far: 6 });
  });

  it('a policy refusal on the customer leg raises the customer leg', () => {
    const then = given(answered()).when(
      referReceived({ cseq: 2, policy: { ...referReceived().policy, transferMode: 'disable-all' } }),
    );
    expect(then.event('ReferRejected')).toMatchObject({ status: 403, leg: 'customer', cseq: 2 });
    expect(remoteCseqs(then.session).customer).toBe(2);
  });

  it('a ReferRejected stored without leg and CSeq (older events) leaves the call as it was', () => {
    const session = fold(answered());
    const then = given(answered()).when({
      type: 'ReferRejected',
      callSid: ROOT,
      transferSid: TRANSFER,
      at: at(20),
      status: 403,
      reason: 'x',
    });
    expect(then.accepted).toBe(false);
    expect(then.call().context).toEqual(session.calls[ROOT]!.context);
  });

  it('a REFER refused on an ended call changes nothing', () => {
    const ended = history(...answered(), hangup('customer', { cseq: 2 }));
    const then = given(ended).when(referReceived({ cseq: 3 }));
    expect(then.event('ReferRejected')).toMatchObject({ status: 403, cseq: 3 });
    expect(then.callState()).toBe('ended');
    expect(remoteCseqs(then.session).customer).toBe(2);
  });
});

describe('a transfer records requests on the legs it holds and hands them back', () => {
  it("the accepted REFER raises the transfer's copy of the customer leg", () => {
    const then = given(answered()).when(referReceived({ cseq: 2 }));
    expect(transferCseqs(then.session)).toEqual({ customer: 2, far: undefined, target: undefined });
  });

  it("the PBX's BYE during the transfer raises the transfer's customer leg", () => {
    const then = given(history(pbxInviteCseq1(), callAnswered(), ...targetInvited().slice(2))).when(
      transferorHungUp({ cseq: 3 }),
    );
    expect(then.transferState()).toBe('inviting');
    expect(transferCseqs(then.session).customer).toBe(3);
  });

  it("the carrier's BYE during the transfer raises the far leg, and the call gets it back", () => {
    const session = expectFoldsBack([
      pbxInviteCseq1(),
      callAnswered(),
      ...targetInvited().slice(2),
      transfereeHungUp({ cseq: 5 }),
    ]);
    expect(String(session.transfers[TRANSFER]!.value)).toBe('failed');
    expect(String(session.calls[ROOT]!.value)).toBe('ended');
    expect(remoteCseqs(session)).toEqual({ customer: 2, far: 5 });
  });

  it('a failed transfer hands back the REFER it took: the customer leg has its CSeq', () => {
    const session = expectFoldsBack([
      pbxInviteCseq1(),
      callAnswered(),
      ...targetBusy().slice(2),
      transferResponse('TransfereeResumed', { at: at(26) }),
    ]);
    expect(String(session.calls[ROOT]!.value)).toBe('inProgress');
    expect(remoteCseqs(session)).toEqual({ customer: 2, far: undefined });
  });

  it('a REFER refused 491 during a transfer is kept over the hand-back', () => {
    const second = referReceived({
      transferSid: TRANSFER_2,
      childCallSid: CHILD_2,
      cseq: 3,
      at: at(24),
      refer: tx('z9hG4bK-pbx-refer-3|REFER'),
    });
    const session = expectFoldsBack([
      pbxInviteCseq1(),
      callAnswered(),
      ...targetBusy().slice(2),
      second,
      transferResponse('TransfereeResumed', { at: at(26) }),
    ]);
    expect(String(session.transfers[TRANSFER_2]!.value)).toBe('rejected');
    // The transfer's copy saw only its own REFER; the call's copy saw the refused one.
    expect(transferCseqs(session).customer).toBeUndefined(); // forgotten once handed back
    expect(remoteCseqs(session)).toEqual({ customer: 3, far: undefined });
  });

  it("a completed transfer: the call keeps the customer leg's, the child gets the far and target legs", () => {
    const session = expectFoldsBack([
      pbxInviteCseq1(),
      callAnswered(),
      ...targetUp().slice(2),
      transferResponse('TransfereeReconnected', { at: at(31) }),
    ]);
    expect(String(session.calls[ROOT]!.value)).toBe('handedOff');
    expect(remoteCseqs(session)).toEqual({ customer: 2 });
    // The pivot placed the target leg: unknown until the target sends a request.
    expect(remoteCseqs(session, CHILD)).toEqual({ far: undefined, target: undefined });
  });

  it("the PBX's BYE after the hand-off raises the customer leg", () => {
    const inputs = [
      pbxInviteCseq1(),
      callAnswered(),
      ...targetUp().slice(2),
      transferResponse('TransfereeReconnected', { at: at(31) }),
    ];
    const then = given(history(...inputs)).when(hangup('customer', { cseq: 3, at: at(33) }));
    expect(then.callState()).toBe('ended');
    expect(remoteCseqs(then.session).customer).toBe(3);
  });

  it('the BYE fallback does not touch the remote CSeq (it is our request)', () => {
    const inputs = [
      pbxInviteCseq1(),
      callAnswered(),
      ...targetUp().slice(2),
      transferResponse('TransfereeReconnected', { at: at(31) }),
    ];
    const then = given(history(...inputs)).when(timerFired('bye-fallback', `${ROOT}:bye-fallback`));
    expect(then.callState()).toBe('ended');
    expect(remoteCseqs(then.session).customer).toBe(2);
  });
});

describe('child call legs record the remote CSeq', () => {
  const completed = () => [
    pbxInviteCseq1(),
    callAnswered(),
    ...targetUp().slice(2),
    transferResponse('TransfereeReconnected', { at: at(31) }),
  ];

  it("the target's re-INVITE and the carrier's BYE are recorded on the child's legs", () => {
    const session = expectFoldsBack([
      ...completed(),
      { ...reInvite('target', 1), callSid: CHILD, at: at(40) },
      { type: 'ReInviteAnswered', callSid: CHILD, at: at(41), status: 200, reason: 'OK', sdp: 'v=0\r\n' },
      hangup('far', { callSid: CHILD, cseq: 8, at: at(300) }),
    ]);
    expect(remoteCseqs(session, CHILD)).toEqual({ far: 8, target: 1 });
  });

  it("a REFER refused on the child's target leg raises that leg", () => {
    const then = given(history(...completed())).when(
      referReceived({
        callSid: CHILD,
        transferSid: TRANSFER_2,
        childCallSid: CHILD_2,
        leg: 'target',
        cseq: 2,
        at: at(50),
      }),
    );
    expect(then.event('ReferRejected')).toMatchObject({ callSid: CHILD, leg: 'target', status: 403 });
    expect(then.callState(CHILD)).toBe('inProgress');
    expect(remoteCseqs(then.session, CHILD)).toEqual({ far: undefined, target: 2 });
  });

  it("the parent's record of a far-party REFER refused during the transfer reaches the child", () => {
    const farRefer = referReceived({
      transferSid: TRANSFER_2,
      childCallSid: CHILD_2,
      leg: 'far',
      cseq: 9,
      at: at(30),
      refer: tx('z9hG4bK-carrier-refer-9|REFER'),
    });
    const inputs = [...completed()];
    inputs.splice(inputs.length - 1, 0, farRefer);
    const session = expectFoldsBack(inputs);
    expect(session.calls[CHILD]).toBeDefined();
    expect(remoteCseqs(session, CHILD).far).toBe(9);
  });
});
