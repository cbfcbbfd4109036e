/**
 * A 200 OK from the target after the transfer already failed (it crossed the no-answer CANCEL, or it
 * came from another fork after an error final). RFC 3261 §13.2.2.4 and §15: the UAC ACKs every 2xx to
 * its INVITE and, not wanting the session, BYEs it. Only the target leg is touched: the original call
 * (back with the PBX, or already ended) is not disturbed.
 */
import { describe, expect, it } from 'vitest';
import {
  at,
  CHILD,
  noAnswerFired,
  ROOT,
  SDP,
  TARGET,
  TRANSFER,
  targetBusy,
  targetInvited,
  transferorHungUp,
  transferResponse,
  tx,
} from '../../test/helpers/fixtures.ts';
import { given, history, spec } from '../../test/helpers/sessionSpec.ts';

/** The no-answer timer CANCELed the target, the far party was resumed: the transfer has failed. */
const timedOutAndResumed = () =>
  history(...targetInvited(), noAnswerFired(), transferResponse('TransfereeResumed', { at: at(52) }));

describe('transfer: a late 200 from the target after the transfer failed', () => {
  it('after the no-answer CANCEL and the resume: ACK and BYE the target, record TargetReleased', () => {
    const failed = timedOutAndResumed();
    expect(given(failed).transferState()).toBe('failed');
    const then = spec({
      given: failed,
      when: transferResponse('TargetAnswered', { at: at(53) }),
      thenEvents: [
        'TargetAnswered',
        {
          type: 'TargetReleased',
          callSid: ROOT,
          transferSid: TRANSFER,
          at: at(53),
          why: 'late-answer',
          targetCallId: given(failed).transfer().context.target?.callId,
        },
      ],
      thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE']);
    expect(then.request('ACK')).toMatchObject({
      destination: TARGET,
      uri: 'sip:alice@198.51.100.7:5060',
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 1, method: 'ACK' },
    });
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-000000001234t-2-bye',
      destination: TARGET,
      uri: 'sip:alice@198.51.100.7:5060',
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 2, method: 'BYE' },
    });
    // The original call is untouched: same snapshot, no child call.
    expect(then.call()).toBe(then.before.calls[ROOT]);
    expect(then.session.calls[CHILD]).toBeUndefined();
  });

  it('after a target error final (a 200 from another fork): ACK and BYE it', () => {
    const then = spec({
      given: history(...targetBusy(), transferResponse('TransfereeResumed', { at: at(26) })),
      when: transferResponse('TargetAnswered', { at: at(27) }),
      thenEvents: ['TargetAnswered', { type: 'TargetReleased', why: 'late-answer' }],
      thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE']);
  });

  it('after the PBX left and the no-answer timer ended everything: ACK and BYE, nothing else', () => {
    const ended = history(...targetInvited(), transferorHungUp(), noAnswerFired());
    expect(given(ended).callState()).toBe('ended');
    const then = spec({
      given: ended,
      when: transferResponse('TargetAnswered', { at: at(53) }),
      thenEvents: ['TargetAnswered', { type: 'TargetReleased', why: 'late-answer' }],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE']);
    expect(then.requests.map((r) => r.destination)).toEqual([TARGET, TARGET]);
  });

  it('a second 200 after the late one was hung up is not accepted (no second BYE)', () => {
    const failed = timedOutAndResumed();
    const first = given(failed).when(transferResponse('TargetAnswered', { at: at(53) }));
    spec({
      given: [...failed, ...first.events],
      when: transferResponse('TargetAnswered', { at: at(54) }),
      thenAccepted: false,
    });
  });

  it('other answers from the target after the failure (its 487) are not accepted', () => {
    spec({
      given: timedOutAndResumed(),
      when: transferResponse('TargetFailed', { status: 487, reason: 'Request Terminated' }),
      thenAccepted: false,
    });
  });

  it('the failed transfer hands the customer and far legs back: it keeps only the target leg', () => {
    const failed = given(timedOutAndResumed());
    expect(failed.transfer().context.customer).toBeUndefined();
    expect(failed.transfer().context.far).toBeUndefined();
    expect(failed.transfer().context.target?.legId).toBe('000000001234t');
    // ... and the call goes on with them: a re-INVITE from the carrier is relayed to the PBX.
    const relayed = failed.when({
      type: 'ReInviteReceived',
      callSid: ROOT,
      at: at(60),
      leg: 'far',
      reinvite: tx('z9hG4bK-carrier-reinv|INVITE'),
      sdp: SDP.carrier,
    });
    expect(relayed.accepted).toBe(true);
    expect(relayed.request('INVITE').callId).toBe('5c1d8e2a-77f0@10.20.0.10');
  });
});
