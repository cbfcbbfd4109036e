/**
 * The classifier, specified directly: given the messages of a session so far, what a new SIP message
 * becomes (an input for the call or the transfer machine, a direct answer, or nothing). New calls, CSeq
 * order, INFO, UPDATE, PRACK and session timers have their own files (classify-*.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { SipRequestInput } from '../../src/shared/messages.ts';
import { given } from '../helpers/classifySpec.ts';
import {
  answer,
  pbxInDialog,
  pbxInvite,
  peerInDialog,
  SDP_CARRIER,
  SDP_TARGET,
  testConfig,
} from '../helpers/sipInputs.ts';

const REFER_TO = { 'refer-to': ['<sip:bob@127.0.0.1:5080>'] };

/** The PBX's CANCEL of its INVITE (same Call-ID, tags and CSeq number; its own transaction key). */
const cancelOf = (invite: SipRequestInput, id: string): SipRequestInput => ({
  ...invite,
  method: 'CANCEL',
  transactionKey: `z9hG4bK${id}:CANCEL`,
  cseq: { seq: invite.cseq.seq, method: 'CANCEL' },
});

function ringing() {
  const world = given(pbxInvite());
  return world.and(answer(world.lastRequest('INVITE'), 180, 'Ringing', '', 'gw'));
}

function answered(config = testConfig()) {
  const world = given(pbxInvite(), config);
  return world.and(answer(world.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
}

/** An answered call whose PBX has REFERred it: the far party is being held. */
function transferring() {
  const world = answered();
  return world.and(pbxInDialog(world.invite, world.pivotTag(), 'REFER', 2, REFER_TO));
}

/** The far party is held and the target INVITEd. */
function invitingTarget() {
  const world = transferring();
  return world.and(answer(world.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
}

describe('classify: responses to what the pivot sent', () => {
  it("the callee's 180 is CallProgress and its 200 CallAnswered with its tag and Contact", () => {
    const world = given(pbxInvite());
    const farInvite = world.lastRequest('INVITE');
    expect(world.when(answer(farInvite, 180, 'Ringing', '', 'gw')).input('CallProgress')).toMatchObject({
      status: 180,
      remoteTag: 'gw',
    });
    const answered = world.when(answer(farInvite, 200, 'OK', SDP_CARRIER, 'gw')).input('CallAnswered');
    expect(answered).toMatchObject({
      remoteTag: 'gw',
      sdp: SDP_CARRIER,
      remoteTarget: 'sip:peer@127.0.0.2:5090',
    });
  });

  it("the callee's error is CallRejected; a 503 may be retried on another gateway, a 486 not", () => {
    const world = given(pbxInvite());
    const farInvite = world.lastRequest('INVITE');
    expect(world.when(answer(farInvite, 486, 'Busy Here')).input('CallRejected').retryable).toBeUndefined();
    expect(world.when(answer(farInvite, 503, 'Service Unavailable')).input('CallRejected').retryable).toBe(
      true,
    );
  });

  it('100 Trying, a response to CANCEL and a response to an unknown branch are dropped', () => {
    const world = given(pbxInvite());
    const farInvite = world.lastRequest('INVITE');
    expect(world.when(answer(farInvite, 100, 'Trying')).ignored()).toBe('100 Trying');
    const toCancel = { ...answer(farInvite, 200, 'OK'), cseq: { seq: 1, method: 'CANCEL' } };
    expect(world.when(toCancel).ignored()).toBe('response to CANCEL');
    const foreign = { ...answer(farInvite, 200, 'OK'), transactionKey: 'z9hG4bK-not-ours' };
    expect(world.when(foreign).ignored()).toMatch(/did not send/);
  });

  it("during a transfer the far party's answer to the hold is TransfereeHeld, the target's answers go to the transfer", () => {
    const held = transferring();
    expect(
      held.when(answer(held.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw')).input('TransfereeHeld'),
    ).toBeDefined();
    const world = invitingTarget();
    const targetInvite = world.lastRequest('INVITE');
    expect(targetInvite.uri).toBe('sip:bob@127.0.0.1:5080');
    expect(world.when(answer(targetInvite, 180, 'Ringing', '', 'bob')).input('TargetRinging').status).toBe(
      180,
    );
    expect(
      world.when(answer(targetInvite, 200, 'OK', SDP_TARGET, 'bob')).input('TargetAnswered'),
    ).toMatchObject({
      remoteTag: 'bob',
      sdp: SDP_TARGET,
    });
    expect(world.when(answer(targetInvite, 486, 'Busy Here', '', 'bob')).input('TargetFailed').status).toBe(
      486,
    );
  });

  it("the PBX's answer to the transfer's NOTIFY is NotifyAnswered", () => {
    const world = transferring();
    const notify = world.lastRequest('NOTIFY');
    expect(world.when(answer(notify, 200, 'OK')).input('NotifyAnswered').status).toBe(200);
  });
});

describe('classify: requests inside a dialog', () => {
  it("a BYE is HangupReceived on the leg it came from: the PBX's on the customer leg, the carrier's on the far leg", () => {
    const world = answered();
    const pbxBye = world.when(pbxInDialog(world.invite, world.pivotTag(), 'BYE', 2)).input('HangupReceived');
    expect(pbxBye).toMatchObject({ leg: 'customer', cseq: 2 });
    const carrierBye = world.when(peerInDialog(world.lastRequest('INVITE'), 'BYE', 1, 'gw'));
    expect(carrierBye.input('HangupReceived').leg).toBe('far');
  });

  it("during a transfer a BYE is the transfer's: TransferorHungUp from the PBX, TransfereeHungUp from the far party", () => {
    const world = invitingTarget();
    expect(
      world.when(pbxInDialog(world.invite, world.pivotTag(), 'BYE', 3)).input('TransferorHungUp').cseq,
    ).toBe(3);
    const farInvite = world.sent.find((c) => c.kind === 'request' && c.method === 'INVITE');
    if (farInvite?.kind !== 'request') throw new Error('no far INVITE');
    expect(world.when(peerInDialog(farInvite, 'BYE', 1, 'gw')).input('TransfereeHungUp')).toBeDefined();
  });

  it("a REFER is ReferReceived with the trunk's policy in force, bridged per RFC 3725", () => {
    const world = answered(testConfig({ transferMode: 'sip-only' }));
    const refer = pbxInDialog(world.invite, world.pivotTag(), 'REFER', 2, {
      ...REFER_TO,
      'refer-sub': ['false'],
      'referred-by': ['<sip:alice@127.0.0.1>'],
    });
    const event = world.when(refer).input('ReferReceived');
    expect(event).toMatchObject({
      leg: 'customer',
      referTo: ['<sip:bob@127.0.0.1:5080>'],
      referSub: false,
      referredBy: '<sip:alice@127.0.0.1>',
      refer: { transactionKey: refer.transactionKey },
      targetDestination: { transport: 'udp', host: '127.0.0.1', port: 5080 },
    });
    expect(event.policy).toMatchObject({
      transferMode: 'sip-only',
      reconnect: 'rfc3725',
      maxTransfersPerCall: 5,
    });
    expect(event.transferSid).toMatch(/^TR/);
    expect(event.childCallSid).toMatch(/^CA/);
  });

  it('a REFER to a TCP target: the target is INVITEd over TCP with our Contact carrying ;transport=tcp', () => {
    const world = answered();
    const referTo = { 'refer-to': ['<sip:bob@127.0.0.1:5080;transport=tcp>'] };
    const event = world
      .when(pbxInDialog(world.invite, world.pivotTag(), 'REFER', 2, referTo))
      .input('ReferReceived');
    expect(event.targetDestination).toEqual({ transport: 'tcp', host: '127.0.0.1', port: 5080 });
    expect(event.policy.tcpContact).toBe('<sip:pivot@127.0.0.1:5060;transport=tcp>');
    world.and(pbxInDialog(world.invite, world.pivotTag(), 'REFER', 2, referTo));
    world.and(answer(world.lastRequest('INVITE'), 200, 'OK', SDP_CARRIER, 'gw'));
    const targetInvite = world.lastRequest('INVITE');
    expect(targetInvite.destination.transport).toBe('tcp');
    expect(targetInvite.contact).toBe('<sip:pivot@127.0.0.1:5060;transport=tcp>');
  });

  it('OPTIONS and NOTIFY are answered 200 directly; a method the dialog does not support gets 501', () => {
    const world = answered();
    const pivotTag = world.pivotTag();
    expect(world.when(pbxInDialog(world.invite, pivotTag, 'OPTIONS', 2)).reply(200).why).toMatch(/OPTIONS/);
    expect(world.when(pbxInDialog(world.invite, pivotTag, 'NOTIFY', 2)).reply(200)).toBeDefined();
    expect(world.when(pbxInDialog(world.invite, pivotTag, 'MESSAGE', 2)).reply(501).why).toMatch(/MESSAGE/);
  });

  it('a re-INVITE while another is relayed gets 491; an ordinary one is ReInviteReceived', () => {
    const world = answered();
    const pivotTag = world.pivotTag();
    const reinvite = { ...pbxInDialog(world.invite, pivotTag, 'INVITE', 2), body: SDP_CARRIER };
    expect(world.when(reinvite).input('ReInviteReceived')).toMatchObject({ leg: 'customer', cseq: 2 });
    world.and(reinvite);
    const another = { ...pbxInDialog(world.invite, pivotTag, 'INVITE', 3), body: SDP_CARRIER };
    expect(world.when(another).reply(491)).toBeDefined();
  });

  it("a request of another Call-ID, or with tags that are not the dialog's, gets 481", () => {
    const world = answered();
    const stranger = pbxInDialog(pbxInvite('stranger@127.0.0.1'), world.pivotTag(), 'BYE', 2);
    expect(world.when(stranger).reply(481).why).toBe('no such dialog');
    const wrongTag = pbxInDialog(world.invite, 'not-ours', 'BYE', 2);
    expect(world.when(wrongTag).reply(481).why).toMatch(/To tag not-ours/);
  });

  it('a request whose CSeq is not above the last one of the dialog gets 500', () => {
    const world = answered();
    expect(world.when(pbxInDialog(world.invite, world.pivotTag(), 'BYE', 1)).reply(500)).toBeDefined();
  });
});

describe('classify: INVITE copies, CANCEL and ACK', () => {
  it("another copy of a live call's INVITE (a new branch) is a merged request: 482", () => {
    const world = ringing();
    const copy: SipRequestInput = { ...world.invite, transactionKey: 'z9hG4bKcopy:INVITE' };
    expect(world.when(copy).reply(482).why).toMatch(/merged/);
  });

  it('a CANCEL of the ringing INVITE is CallCanceled; once answered there is nothing to cancel (481)', () => {
    const ring = ringing();
    expect(ring.when(cancelOf(ring.invite, 'c')).input('CallCanceled').cancel.transactionKey).toBe(
      'z9hG4bKc:CANCEL',
    );
    const done = answered();
    expect(done.when(cancelOf(done.invite, 'l')).reply(481).why).toMatch(/no INVITE to cancel/);
  });

  it('the ACK of an ordinary 2xx is dropped: only an ACK carrying an answer the call waits for is an input', () => {
    const world = answered();
    const ack = { ...pbxInDialog(world.invite, world.pivotTag(), 'ACK', 1), cseq: { seq: 1, method: 'ACK' } };
    expect(world.when(ack).ignored()).toBe('ACK');
  });
});
