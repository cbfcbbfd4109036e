import { describe, expect, it } from 'vitest';
import {
  at,
  hangup,
  noAnswerFired,
  PUBLIC_HOST,
  ROOT,
  SDP,
  TRANSFER,
  targetBusy,
  targetInvited,
  timerFired,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import {
  directions,
  given,
  history,
  originLine,
  sdpLines,
  sipfrag,
  spec,
} from '../../test/helpers/sessionSpec.ts';

describe('transfer: TargetFailed', () => {
  it.each([
    [486, 'Busy Here'],
    [603, 'Decline'],
    [500, 'Server Internal Error'],
  ])('%i: final NOTIFY with the target status line, far party resumed to the PBX SDP', (status, reason) => {
    const then = spec({
      given: history(...targetInvited()),
      when: transferResponse('TargetFailed', { status, reason, at: at(25) }),
      thenEvents: ['TargetFailed', { type: 'TimerCanceled', timerId: `${TRANSFER}:no-answer`, at: at(25) }],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'resuming' } },
    });
    expect(then.wire).toEqual(['NOTIFY', 'INVITE']);
    const notify = then.request('NOTIFY');
    expect(sipfrag(notify)).toBe(`SIP/2.0 ${status} ${reason}`);
    expect(notify.headers?.['Subscription-State']).toBe('terminated;reason=noresource');
    expect(notify.cseq.seq).toBe(2);
    const resume = then.request('INVITE');
    expect(resume).toMatchObject({
      callId: `pv-${ROOT}-f@${PUBLIC_HOST}`,
      cseq: { seq: 3, method: 'INVITE' },
    });
    expect(originLine(resume.body)).toBe(`o=sip-pivot 1002 3 IN IP4 ${PUBLIC_HOST}`);
    expect(directions(resume.body)).toEqual(['a=sendrecv']);
    expect(sdpLines(resume.body)).toContain('c=IN IP4 10.20.0.10');
  });

  it('TransfereeResumed: ACK, TransferFailed with the target status, the call back in progress', () => {
    const then = spec({
      given: history(...targetBusy()),
      when: transferResponse('TransfereeResumed', { at: at(26) }),
      thenEvents: [
        'TransfereeResumed',
        {
          type: 'TransferFailed',
          callSid: ROOT,
          transferSid: TRANSFER,
          status: 486,
          reason: 'Busy Here',
          transferorGone: false,
          transfereeGone: false,
        },
      ],
      thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['ACK']);
    expect(then.request('ACK').cseq).toEqual({ seq: 3, method: 'ACK' });
    const failed = then.event('TransferFailed');
    expect(failed.customerLeg.localCseq).toBe(2);
    expect(failed.farLeg.localCseq).toBe(3);
    expect(then.call().context.activeTransferSid).toBeUndefined();
    // The original call continues: a BYE from the PBX now hangs up the far party at CSeq 4.
    const bye = given([...history(...targetBusy()), ...then.events])
      .when(hangup('customer'))
      .request('BYE');
    expect(bye.cseq).toEqual({ seq: 4, method: 'BYE' });
  });

  it('a 487 that follows the failure is not accepted', () => {
    spec({
      given: history(...targetBusy()),
      when: transferResponse('TargetFailed', { status: 487, reason: 'Request Terminated' }),
      thenAccepted: false,
    });
  });
});

describe('transfer: no answer', () => {
  it('the no-answer timer CANCELs the target, NOTIFYs 408 Request Timeout and resumes the far party', () => {
    const then = spec({
      given: history(...targetInvited(), transferResponse('TargetRinging')),
      when: noAnswerFired(),
      thenEvents: ['TimerFired'],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'resuming' } },
    });
    expect(then.wire).toEqual(['CANCEL', 'NOTIFY', 'INVITE']);
    expect(then.request('CANCEL')).toMatchObject({
      branch: 'z9hG4bK-000000001234t-1-invite',
      uri: 'sip:alice@pbx2.example.com',
      cseq: { seq: 1, method: 'CANCEL' },
      to: { params: {} },
    });
    const notify = then.request('NOTIFY');
    expect(sipfrag(notify)).toBe('SIP/2.0 408 Request Timeout');
    expect(notify.cseq.seq).toBe(3);
    expect(notify.headers?.['Subscription-State']).toBe('terminated;reason=noresource');
    expect(directions(then.request('INVITE').body)).toEqual(['a=sendrecv']);
    // ... and the failure carries 408.
    const resumed = given([
      ...history(...targetInvited(), transferResponse('TargetRinging')),
      ...then.events,
    ]).when(transferResponse('TransfereeResumed'));
    expect(resumed.event('TransferFailed')).toMatchObject({ status: 408, reason: 'Request Timeout' });
    expect(resumed.callState()).toBe('inProgress');
  });

  it('a timer that is not this transfer’s no-answer timer is not accepted', () => {
    spec({
      given: history(...targetInvited()),
      when: timerFired('no-answer', `${TRANSFER}:other`, { transferSid: TRANSFER }),
      thenAccepted: false,
    });
  });

  it('a 200 crossing the CANCEL is ACKed and hung up; the transfer still fails', () => {
    const timedOut = history(...targetInvited(), noAnswerFired());
    const then = spec({
      given: timedOut,
      when: transferResponse('TargetAnswered', { at: at(51) }),
      thenEvents: [
        'TargetAnswered',
        { type: 'TargetReleased', transferSid: TRANSFER, why: 'late-answer', at: at(51) },
      ],
      thenState: { transfers: { [TRANSFER]: 'resuming' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE']);
    expect(then.request('ACK')).toMatchObject({
      uri: 'sip:alice@198.51.100.7:5060',
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 1, method: 'ACK' },
    });
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-000000001234t-2-bye',
      uri: 'sip:alice@198.51.100.7:5060',
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 2, method: 'BYE' },
    });
    expect(
      given([...timedOut, ...then.events]).when(transferResponse('TransfereeResumed')).eventTypes,
    ).toEqual(['TransfereeResumed', 'TransferFailed']);
  });

  it('the resumed far party keeps the PBX SDP (not the target’s) after a late answer', () => {
    const resume = given(history(...targetInvited()))
      .when(noAnswerFired())
      .request('INVITE');
    expect(resume.body).toContain('m=audio 40000');
    expect(resume.body).not.toContain(SDP.target.split('\r\n')[3]!);
  });
});
