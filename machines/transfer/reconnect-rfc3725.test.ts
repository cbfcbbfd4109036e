/**
 * Bridging the target per RFC 3725 (REFERs whose policy says `reconnect: rfc3725`, every REFER the
 * engine accepts now): the target is INVITEd without SDP, its 200 carries its offer, the transferee is
 * re-INVITEd with that offer, and the transferee's answer goes in the ACK of the target's 200. Neither
 * party is left with the other's stale SDP. Transfers stored before (no `reconnect`) keep the old flow:
 * see invite-target.test.ts and complete.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  answeredCall,
  at,
  CARRIER,
  CHILD,
  PUBLIC_HOST,
  policy,
  referReceived,
  SDP,
  TARGET,
  TRANSFER,
  transfereeHungUp,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { directions, history, originLine, sdpLines, spec } from '../../test/helpers/sessionSpec.ts';

const refer = () => referReceived({ policy: policy({ reconnect: 'rfc3725' }) });
const invited = () => [...answeredCall(), refer(), transferResponse('TransfereeHeld')];
const answered = () => [...invited(), transferResponse('TargetAnswered', { at: at(30) })];
const media = (sdp: string | undefined) => sdpLines(sdp).filter((l) => !l.startsWith('o='));
const ports = (sdp: string | undefined) => sdpLines(sdp).filter((l) => l.startsWith('m='));

describe('transfer reconnect per RFC 3725', () => {
  it('the target is INVITEd without SDP', () => {
    const then = spec({
      given: history(...answeredCall(), refer()),
      when: transferResponse('TransfereeHeld'),
      thenState: { transfers: { [TRANSFER]: 'inviting' } },
    });
    const invite = then.request('INVITE');
    expect(invite.destination).toEqual(TARGET);
    expect(invite.body).toBeUndefined();
    expect(invite.contentType).toBeUndefined();
  });

  it("the target's offer goes to the transferee as is (our origin); the target is not ACKed yet", () => {
    const then = spec({
      given: history(...invited()),
      when: transferResponse('TargetAnswered', { at: at(30) }),
      thenState: { transfers: { [TRANSFER]: 'reconnecting' } },
    });
    expect(then.wire).toEqual(['INVITE', 'NOTIFY']);
    const reconnect = then.request('INVITE');
    expect(reconnect.destination).toEqual(CARRIER);
    expect(media(reconnect.body)).toEqual(media(SDP.target));
    expect(originLine(reconnect.body)).toBe(`o=sip-pivot 1002 3 IN IP4 ${PUBLIC_HOST}`);
  });

  it("the transferee's answer completes both: ACK to it, and the target's 200 ACKed with the answer", () => {
    const then = spec({
      given: history(...answered()),
      when: transferResponse('TransfereeReconnected', { at: at(31) }),
      thenState: { transfers: { [TRANSFER]: 'completed' }, calls: { [CHILD]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['ACK', 'ACK']);
    const [toFar, toTarget] = then.requests;
    expect(toFar).toMatchObject({ destination: CARRIER, cseq: { seq: 3, method: 'ACK' } });
    expect(toFar?.body).toBeUndefined();
    expect(toTarget).toMatchObject({
      destination: TARGET,
      cseq: { seq: 1, method: 'ACK' },
      to: { params: { tag: 'alice-t3' } },
      contentType: 'application/sdp',
    });
    expect(media(toTarget?.body)).toEqual(media(SDP.carrier));
    // The target leg's first SDP from us: version 1 of our origin there.
    expect(originLine(toTarget?.body)).toMatch(/^o=sip-pivot \d+ 1 IN IP4 /);
    const completed = then.event('TransferCompleted');
    expect(completed.targetLeg.remoteSdp).toBe(SDP.target);
    expect(completed.targetLeg.origin.version).toBe(1);
    expect(completed.farLeg.remoteSdp).toBe(SDP.carrier);
    expect(then.call(CHILD).context.legs.target?.remoteSdp).toBe(SDP.target);
  });

  it('a refused reconnect: the target gets an ACK rejecting its streams, then BYE; the far party resumes', () => {
    const then = spec({
      given: history(...answered()),
      when: transferResponse('TransfereeReconnected', {
        status: 488,
        reason: 'Not Acceptable Here',
        sdp: undefined,
        at: at(31),
      }),
      thenEvents: ['TransfereeReconnected', { type: 'TargetReleased', why: 'reconnect-refused' }],
      thenState: { transfers: { [TRANSFER]: 'resuming' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE', 'INVITE']);
    const [ack, bye] = then.requests;
    expect(ack).toMatchObject({ destination: TARGET, cseq: { seq: 1, method: 'ACK' } });
    expect(ports(ack?.body)).toEqual(['m=audio 0 RTP/AVP 0 8 101']);
    expect(bye).toMatchObject({ destination: TARGET, cseq: { seq: 2, method: 'BYE' } });
    expect(directions(then.request('INVITE').body)).toEqual(['a=sendrecv']);
  });

  it('the transferee hangs up while reconnecting: the target is ACKed (streams rejected) and BYEd', () => {
    const then = spec({
      given: history(...answered()),
      when: transfereeHungUp({ at: at(31) }),
      thenState: { transfers: { [TRANSFER]: 'failed' } },
    });
    // The last BYE is the call's, to the PBX: nobody is left to talk to.
    expect(then.wire).toEqual(['200', 'ACK', 'BYE', 'BYE']);
    const [ack, bye] = then.requests;
    expect(ack?.destination).toEqual(TARGET);
    expect(ports(ack?.body)).toEqual(['m=audio 0 RTP/AVP 0 8 101']);
    expect(bye?.destination).toEqual(TARGET);
  });

  it('a target 200 without an offer: ACK and BYE it, NOTIFY 502, resume the far party', () => {
    const then = spec({
      given: history(...invited()),
      when: transferResponse('TargetAnswered', { sdp: undefined, at: at(30) }),
      thenState: { transfers: { [TRANSFER]: 'resuming' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE', 'NOTIFY', 'INVITE']);
    expect(then.request('ACK').body).toBeUndefined();
    expect(then.request('NOTIFY').body).toBe('SIP/2.0 502 Bad Gateway\r\n');
    expect(then.request('INVITE').destination).toEqual(CARRIER);
  });

  it('a late 200 with an offer after the transfer gave up: ACK rejecting its streams, then BYE', () => {
    const busy = [...invited(), transferResponse('TargetFailed', { at: at(25) })];
    const then = spec({
      given: history(...busy, transferResponse('TransfereeResumed', { at: at(26) })),
      when: transferResponse('TargetAnswered', { at: at(27) }),
      thenEvents: ['TargetAnswered', { type: 'TargetReleased', why: 'late-answer' }],
    });
    expect(then.wire).toEqual(['ACK', 'BYE']);
    expect(ports(then.request('ACK').body)).toEqual(['m=audio 0 RTP/AVP 0 8 101']);
  });
});
