import { describe, expect, it } from 'vitest';
import { at, callAnswered, callReceived, hangup, ROOT, SDP, tx } from '../../test/helpers/fixtures.ts';
import { directions, history, originLine, spec } from '../../test/helpers/sessionSpec.ts';
import type { ReInviteAnswered, ReInviteReceived } from '../events.ts';
import { withDirection } from '../sdp.ts';

const answered = () => history(callReceived(), callAnswered());
const HOLD = withDirection(SDP.pbx, 'sendonly');

function reInvite(leg: ReInviteReceived['leg'], sdp: string): ReInviteReceived {
  return {
    type: 'ReInviteReceived',
    callSid: ROOT,
    at: at(20),
    leg,
    reinvite: tx(`z9hG4bK-reinv-${leg}|INVITE`),
    sdp,
  };
}

function reInviteAnswered(status: number, reason: string, sdp?: string): ReInviteAnswered {
  return { type: 'ReInviteAnswered', callSid: ROOT, at: at(21), status, reason, ...(sdp ? { sdp } : {}) };
}

describe('call re-INVITE relay (hold and resume of a leg)', () => {
  it('a re-INVITE from the PBX is offered to the carrier leg with our origin and the next CSeq', () => {
    const then = spec({
      given: answered(),
      when: reInvite('customer', HOLD),
      thenEvents: ['ReInviteReceived'],
      thenState: { calls: { [ROOT]: 'relaying' } },
    });
    expect(then.wire).toEqual(['INVITE']);
    const offer = then.request('INVITE');
    expect(offer.cseq).toEqual({ seq: 2, method: 'INVITE' });
    expect(directions(offer.body)).toEqual(['a=sendonly']);
    expect(originLine(offer.body)).toMatch(/^o=sip-pivot \d+ 2 IN IP4 /);
  });

  it("the carrier's 200 is ACKed and its SDP answers the PBX; the PBX's new SDP is remembered", () => {
    const answer = withDirection(SDP.carrier, 'recvonly');
    const then = spec({
      given: history(...answered(), reInvite('customer', HOLD)),
      when: reInviteAnswered(200, 'OK', answer),
      thenEvents: ['ReInviteAnswered'],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['ACK', '200']);
    expect(then.request('ACK').cseq).toEqual({ seq: 2, method: 'ACK' });
    expect(then.response(200)).toMatchObject(tx('z9hG4bK-reinv-customer|INVITE'));
    expect(directions(then.response(200).body)).toEqual(['a=recvonly']);
    expect(then.call().context.legs.customer?.remoteSdp).toBe(HOLD);
    expect(then.call().context.legs.far?.remoteSdp).toBe(answer);
  });

  it('a refusal from the other leg is passed back with its status', () => {
    const then = spec({
      given: history(...answered(), reInvite('far', SDP.carrier)),
      when: reInviteAnswered(488, 'Not Acceptable Here'),
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['488']);
    expect(then.response(488)).toMatchObject(tx('z9hG4bK-reinv-far|INVITE'));
  });

  it('a BYE while the re-INVITE is out still ends the call', () => {
    const then = spec({
      given: history(...answered(), reInvite('customer', HOLD)),
      when: hangup('far'),
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['200', 'BYE']);
  });

  it('a re-INVITE answer with nothing relayed is not accepted', () => {
    const then = spec({
      given: answered(),
      when: reInviteAnswered(200, 'OK', SDP.carrier),
      thenAccepted: false,
    });
    expect(then.events).toEqual([]);
  });
});
