/**
 * The transferee refuses the reconnect: its answer to the re-INVITE offering the target's SDP is a
 * non-2xx final. RFC 3261 §14.1: its session stays as it was (on hold with the PBX), so the target cannot
 * be bridged. The transfer fails with that status: the answered target is hung up, the far party is
 * resumed to the PBX's SDP and the original call goes on. No NOTIFY: the PBX was told 200 with a
 * terminated subscription when the target answered (RFC 6665: nothing may follow it). A 481 or 408
 * (RFC 3261 §12.2.1.2) means the transferee's dialog is gone: the call hangs up the PBX instead.
 */
import { describe, expect, it } from 'vitest';
import {
  at,
  CARRIER,
  CHILD,
  hangup,
  PBX,
  PUBLIC_HOST,
  ROOT,
  TARGET,
  TRANSFER,
  targetUp,
  transferorHungUp,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { directions, given, history, originLine, sdpLines, spec } from '../../test/helpers/sessionSpec.ts';

const refused = (status = 488, reason = 'Not Acceptable Here') =>
  transferResponse('TransfereeReconnected', { status, reason, sdp: undefined, at: at(31) });

describe('transfer: the transferee refuses the reconnect', () => {
  it('488: BYE the target, resume the far party to the PBX SDP, no NOTIFY, no hand-off', () => {
    const then = spec({
      given: history(...targetUp()),
      when: refused(),
      thenEvents: [
        'TransfereeReconnected',
        { type: 'TargetReleased', transferSid: TRANSFER, why: 'reconnect-refused', at: at(31) },
      ],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'resuming' } },
    });
    expect(then.wire).toEqual(['BYE', 'INVITE']);
    expect(then.request('BYE')).toMatchObject({
      destination: TARGET,
      branch: 'z9hG4bK-000000001234t-2-bye',
      to: { params: { tag: 'alice-t3' } },
      cseq: { seq: 2, method: 'BYE' },
    });
    const resume = then.request('INVITE');
    expect(resume).toMatchObject({
      destination: CARRIER,
      callId: `pv-${ROOT}-f@${PUBLIC_HOST}`,
      cseq: { seq: 4, method: 'INVITE' },
    });
    expect(directions(resume.body)).toEqual(['a=sendrecv']);
    expect(sdpLines(resume.body)).toContain('c=IN IP4 10.20.0.10');
    // The refused offer (version 3) never took effect: the resume is the next version after the hold.
    expect(originLine(resume.body)).toBe(`o=sip-pivot 1002 3 IN IP4 ${PUBLIC_HOST}`);
    expect(then.eventTypes).not.toContain('TransferCompleted');
    expect(then.session.calls[CHILD]).toBeUndefined();
  });

  it('then the resumed far party: ACK, TransferFailed with the refusal status, the call goes on', () => {
    const before = history(...targetUp(), refused());
    const then = spec({
      given: before,
      when: transferResponse('TransfereeResumed', { at: at(32) }),
      thenEvents: [
        'TransfereeResumed',
        {
          type: 'TransferFailed',
          status: 488,
          reason: 'Not Acceptable Here',
          transferorGone: false,
          transfereeGone: false,
        },
      ],
      thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['ACK']);
    expect(then.request('ACK').cseq).toEqual({ seq: 4, method: 'ACK' });
    expect(then.eventTypes).not.toContain('TimerScheduled');
    // The PBX (told 200) hangs up: the call BYEs the far party with its next CSeq.
    const bye = given([...before, ...then.events])
      .when(hangup('customer'))
      .request('BYE');
    expect(bye).toMatchObject({ destination: CARRIER, cseq: { seq: 5, method: 'BYE' } });
  });

  it.each([
    [481, 'Call/Transaction Does Not Exist'],
    [408, 'Request Timeout'],
  ])('%i: the transferee is gone; BYE the target and the PBX, the call ends', (status, reason) => {
    const then = spec({
      given: history(...targetUp()),
      when: refused(status, reason),
      thenEvents: [
        'TransfereeReconnected',
        { type: 'TargetReleased', why: 'reconnect-refused' },
        { type: 'TransferFailed', status, reason, transfereeGone: true, transferorGone: false },
        { type: 'CallEnded', callSid: ROOT, status: 'completed' },
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    const [target, pbx] = then.requests;
    expect(target).toMatchObject({ destination: TARGET, cseq: { seq: 2, method: 'BYE' } });
    expect(pbx).toMatchObject({ destination: PBX, cseq: { seq: 3, method: 'BYE' } });
  });

  it('with the PBX gone: BYE the target, and the call hangs up the far party', () => {
    const then = spec({
      given: history(...targetUp(), transferorHungUp({ at: at(30.5) })),
      when: refused(),
      thenEvents: [
        'TransfereeReconnected',
        { type: 'TargetReleased', why: 'reconnect-refused' },
        { type: 'TransferFailed', status: 488, transferorGone: true, transfereeGone: false },
        { type: 'CallEnded', callSid: ROOT, status: 'completed' },
      ],
      thenState: { calls: { [ROOT]: 'ended' }, transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.wire).toEqual(['BYE', 'BYE']);
    const [target, far] = then.requests;
    expect(target).toMatchObject({ destination: TARGET, cseq: { seq: 2, method: 'BYE' } });
    expect(far).toMatchObject({ destination: CARRIER, cseq: { seq: 4, method: 'BYE' } });
  });

  it('a repeated 200 from the target while resuming is not taken for a late answer', () => {
    spec({
      given: history(...targetUp(), refused()),
      when: transferResponse('TargetAnswered', { at: at(31.5) }),
      thenAccepted: false,
    });
  });
});
