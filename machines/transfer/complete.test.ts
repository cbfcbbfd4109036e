import { describe, expect, it } from 'vitest';
import {
  at,
  CARRIER,
  CARRIER_HOST,
  CHILD,
  hangup,
  PSTN_CALLEE,
  PUBLIC_HOST,
  ROOT,
  SDP,
  TARGET,
  TRANSFER,
  TRUNK,
  targetInvited,
  targetUp,
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

describe('transfer: TargetAnswered', () => {
  it('ACKs the target, cancels the timer, re-INVITEs the far party to the target SDP, NOTIFYs 200', () => {
    const then = spec({
      given: history(...targetInvited(), transferResponse('TargetRinging')),
      when: transferResponse('TargetAnswered', { at: at(30) }),
      thenEvents: [
        'TargetAnswered',
        { type: 'TimerCanceled', transferSid: TRANSFER, timerId: `${TRANSFER}:no-answer`, at: at(30) },
      ],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'reconnecting' } },
    });
    expect(then.wire).toEqual(['ACK', 'INVITE', 'NOTIFY']);
    expect(then.request('ACK')).toMatchObject({
      uri: 'sip:alice@198.51.100.7:5060',
      destination: TARGET,
      callId: `pv-${ROOT}-000000001234t@${PUBLIC_HOST}`,
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 1, method: 'ACK' },
    });
    const reconnect = then.request('INVITE');
    expect(reconnect).toMatchObject({
      branch: 'z9hG4bK-fa0000000002-3-invite',
      callId: `pv-${ROOT}-f@${PUBLIC_HOST}`,
      cseq: { seq: 3, method: 'INVITE' },
    });
    expect(originLine(reconnect.body)).toBe(`o=sip-pivot 1002 3 IN IP4 ${PUBLIC_HOST}`);
    expect(directions(reconnect.body)).toEqual(['a=sendrecv']);
    expect(sdpLines(reconnect.body)).toContain('c=IN IP4 198.51.100.7');
    const notify = then.request('NOTIFY');
    expect(sipfrag(notify)).toBe('SIP/2.0 200 OK');
    expect(notify.headers).toEqual({ Event: 'refer', 'Subscription-State': 'terminated;reason=noresource' });
    expect(notify.cseq).toEqual({ seq: 3, method: 'NOTIFY' });
  });

  it('a no-answer timer that fires after the answer is not accepted', () => {
    spec({
      given: history(...targetUp()),
      when: timerFired('no-answer', `${TRANSFER}:no-answer`, { transferSid: TRANSFER }),
      thenAccepted: false,
    });
  });
});

describe('transfer: TransfereeReconnected', () => {
  it('ACKs the far party, completes the transfer, hands the root call off and starts the child', () => {
    const then = spec({
      given: history(...targetUp()),
      when: transferResponse('TransfereeReconnected', { at: at(31) }),
      thenEvents: [
        'TransfereeReconnected',
        {
          type: 'TransferCompleted',
          callSid: ROOT,
          transferSid: TRANSFER,
          childCallSid: CHILD,
          targetKind: 'sip',
          targetNumber: 'alice',
          transfereeNumber: PSTN_CALLEE,
          transferorGone: false,
          byeFallbackSeconds: 32,
          finalNotifyAt: at(30),
        },
        // 32 s after the final NOTIFY (sent with the target's 200 at 30 s), not after the reconnect.
        { type: 'TimerScheduled', callSid: ROOT, name: 'bye-fallback', dueAt: at(62) },
        {
          type: 'ChildCallStarted',
          callSid: CHILD,
          parentCallSid: ROOT,
          transferSid: TRANSFER,
          trunkSid: TRUNK,
          trunkName: 'acme',
          direction: 'trunking-terminating',
          from: PSTN_CALLEE,
          to: 'alice',
          targetKind: 'sip',
          at: at(31),
        },
      ],
      thenState: {
        calls: { [ROOT]: 'handedOff', [CHILD]: 'inProgress' },
        transfers: { [TRANSFER]: 'completed' },
      },
    });
    expect(then.wire).toEqual(['ACK']);
    expect(then.request('ACK').cseq).toEqual({ seq: 3, method: 'ACK' });
    const completed = then.event('TransferCompleted');
    expect(completed.farLeg.localCseq).toBe(3);
    expect(completed.farLeg.remoteSdp).toBe(SDP.carrier);
    expect(completed.customerLeg.localCseq).toBe(2);
    expect(completed.targetLeg.remote.params.tag).toBe('alice-t3');
    expect(then.call(CHILD).context.legs.target?.remoteSdp).toBe(SDP.target);
  });

  it('a PSTN target gives the child call the E.164 number', () => {
    const then = given(
      history(...targetUp({ referTo: ['<tel:+4930123456>'], targetDestination: undefined })),
    ).when(transferResponse('TransfereeReconnected'));
    expect(then.event('TransferCompleted')).toMatchObject({
      targetKind: 'pstn',
      targetNumber: '+4930123456',
    });
    expect(then.event('ChildCallStarted')).toMatchObject({ to: '+4930123456', targetKind: 'pstn' });
    const { targetLeg } = then.event('ChildCallStarted');
    expect(targetLeg.remote.uri).toBe(`sip:+4930123456@${CARRIER_HOST}`);
    expect(targetLeg.destination).toEqual(CARRIER);
  });

  it('then the PBX BYE completes the root call and the child call goes on', () => {
    const done = history(...targetUp(), transferResponse('TransfereeReconnected', { at: at(31) }));
    const then = spec({
      given: done,
      when: hangup('customer', { at: at(33) }),
      thenEvents: [
        'HangupReceived',
        'TimerCanceled',
        { type: 'CallEnded', callSid: ROOT, status: 'completed' },
      ],
      thenState: { calls: { [ROOT]: 'ended', [CHILD]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['200']);
    // ... and the child's far party hanging up BYEs the target.
    const bye = given([...done, ...then.events])
      .when(hangup('far', { callSid: CHILD }))
      .request('BYE');
    expect(bye).toMatchObject({ destination: TARGET, cseq: { seq: 2, method: 'BYE' } });
  });
});
