import { describe, expect, it } from 'vitest';
import {
  at,
  callAnswered,
  callReceived,
  hangup,
  ROOT,
  referReceived,
  SDP,
  TRANSFER,
  tx,
} from '../../test/helpers/fixtures.ts';
import { history, originLine, sdpLines, spec } from '../../test/helpers/sessionSpec.ts';
import type { LegName } from '../dialog.ts';
import type { CallAcked, Direction } from '../events.ts';

/** An INVITE without SDP (Cisco CUCM/CUBE and many SBCs): the offer comes in the 200, the answer in the ACK. */
const delayed = (direction: Direction = 'trunking-terminating') =>
  callReceived({ direction, sdp: '', delayedOffer: true });

function acked(leg: LegName, sdp?: string): CallAcked {
  return { type: 'CallAcked', callSid: ROOT, at: at(6), leg, cseq: 1, ...(sdp ? { sdp } : {}) };
}

/** The lines that are the party's own (everything but the origin, which is ours on every leg). */
const media = (sdp: string | undefined) => sdpLines(sdp).filter((l) => !l.startsWith('o='));

describe('delayed offer on a new call (RFC 3261 §13.2.1)', () => {
  for (const [direction, caller, callee] of [
    ['trunking-terminating', 'customer', 'far'],
    ['trunking-originating', 'far', 'customer'],
  ] as const) {
    describe(direction, () => {
      const calleeOffer = direction === 'trunking-terminating' ? SDP.carrier : SDP.pbx;
      const callerAnswer = direction === 'trunking-terminating' ? SDP.pbx : SDP.carrier;
      const answered = () => history(delayed(direction), callAnswered({ direction }));

      it('the INVITE to the callee goes without a body too', () => {
        const then = spec({
          given: [],
          when: delayed(direction),
          thenState: { calls: { [ROOT]: 'ringing' } },
        });
        expect(then.wire).toEqual(['100', 'INVITE']);
        expect(then.request('INVITE').body).toBeUndefined();
        expect(then.request('INVITE').contentType).toBeUndefined();
        expect(then.call().context.legs[caller]?.remoteSdp).toBeUndefined();
      });

      it("the callee's 200 is relayed as the offer in our 200; the callee is not ACKed yet", () => {
        const then = spec({
          given: history(delayed(direction)),
          when: callAnswered({ direction }),
          thenEvents: ['CallAnswered'],
          thenState: { calls: { [ROOT]: 'confirming' } },
        });
        expect(then.wire).toEqual(['200']);
        const ok = then.response(200);
        expect(media(ok.body)).toEqual(media(calleeOffer));
        expect(originLine(ok.body)).toMatch(/^o=sip-pivot \d+ 1 IN IP4 /);
        expect(then.call().context.status).toBe('in-progress');
      });

      it("the caller's ACK brings the answer: only then the callee's 200 is ACKed, with it", () => {
        const then = spec({
          given: answered(),
          when: acked(caller, callerAnswer),
          thenEvents: ['CallAcked'],
          thenState: { calls: { [ROOT]: 'inProgress' } },
        });
        expect(then.wire).toEqual(['ACK']);
        const ack = then.request('ACK');
        expect(ack.cseq).toEqual({ seq: 1, method: 'ACK' });
        expect(ack.contentType).toBe('application/sdp');
        expect(media(ack.body)).toEqual(media(callerAnswer));
        // Our origin on the callee's leg, one version above the INVITE's (it had none: version 1).
        expect(originLine(ack.body)).toMatch(/^o=sip-pivot \d+ 1 IN IP4 /);
        const { legs } = then.call().context;
        expect(legs[caller]?.remoteSdp).toBe(callerAnswer);
        expect(legs[callee]?.remoteSdp).toBe(calleeOffer);
      });

      it('an ACK without SDP is a protocol error: the callee gets an ACK rejecting its streams, both legs a BYE', () => {
        const then = spec({
          given: answered(),
          when: acked(caller),
          thenEvents: ['CallAcked', 'CallEnded'],
          thenState: { calls: { [ROOT]: 'ended' } },
        });
        expect(then.wire).toEqual(['ACK', 'BYE', 'BYE']);
        const [ack, byeCallee, byeCaller] = then.requests;
        expect(ack?.destination).toEqual(byeCallee?.destination);
        expect(sdpLines(ack?.body).filter((l) => l.startsWith('m='))).toEqual(['m=audio 0 RTP/AVP 0 8 101']);
        expect(byeCaller?.callId).toBe(then.call().context.legs[caller]?.callId);
        expect(then.event('CallEnded')).toMatchObject({ status: 'failed' });
        expect(then.event('CallEnded').why).toMatch(/no answer/);
      });

      it('a later ACK on a confirmed call is not an input', () => {
        spec({
          given: history(...answered(), acked(caller, callerAnswer)),
          when: acked(caller, callerAnswer),
          thenAccepted: false,
        });
      });
    });
  }

  it('a BYE from the caller before its ACK: the callee is ACKed (streams rejected) and BYEd', () => {
    const then = spec({
      given: history(delayed(), callAnswered()),
      when: hangup('customer'),
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['ACK', '200', 'BYE']);
    expect(sdpLines(then.request('ACK').body)).toContain('m=audio 0 RTP/AVP 0 8 101');
  });

  it('a BYE from the callee before the ACK: the caller is BYEd, nothing more is owed to the callee', () => {
    const then = spec({
      given: history(delayed(), callAnswered()),
      when: hangup('far'),
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['200', 'BYE']);
  });

  it('a callee answering without an offer: ACK and BYE it, 502 to the caller', () => {
    const then = spec({
      given: history(delayed()),
      when: callAnswered({ sdp: '' }),
      thenEvents: ['CallAnswered', 'CallEnded'],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE', '502']);
    expect(then.request('ACK').body).toBeUndefined();
    expect(then.response(502)).toMatchObject(tx('z9hG4bK-pbx-inv-1|INVITE'));
  });

  it('an INVITE with SDP is answered as before: the callee is ACKed at once', () => {
    const then = spec({
      given: history(callReceived()),
      when: callAnswered(),
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['ACK', '200']);
    expect(then.request('ACK').body).toBeUndefined();
  });

  it('an old stream (no delayedOffer mark) folds as it did: an empty offer, the callee ACKed at once', () => {
    const then = spec({
      given: history(callReceived({ sdp: '' })),
      when: callAnswered(),
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['ACK', '200']);
  });

  it("a confirmed delayed-offer call can be transferred: the hold offers the PBX's answer from its ACK", () => {
    const then = spec({
      given: history(delayed(), callAnswered(), acked('customer', SDP.pbx)),
      when: referReceived(),
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'holding' } },
    });
    const hold = then.request('INVITE');
    expect(media(hold.body).filter((l) => !l.startsWith('a='))).toEqual(
      media(SDP.pbx).filter((l) => !l.startsWith('a=')),
    );
  });

  it('a REFER before the ACK came is refused: the call is not established yet', () => {
    const then = spec({
      given: history(delayed(), callAnswered()),
      when: referReceived(),
      thenState: { calls: { [ROOT]: 'confirming' } },
    });
    expect(then.wire).toEqual(['403']);
  });
});
