import { describe, expect, it } from 'vitest';
import { at, callAnswered, callReceived, hangup, ROOT, SDP, tx } from '../../test/helpers/fixtures.ts';
import { directions, history, originLine, spec } from '../../test/helpers/sessionSpec.ts';
import type { LegName } from '../dialog.ts';
import type { UpdateAnswered, UpdateReceived } from '../events.ts';
import { withDirection } from '../sdp.ts';

const answered = () => history(callReceived(), callAnswered());
const HOLD = withDirection(SDP.pbx, 'sendonly');

function update(leg: LegName, sdp: string | undefined, cseq = 2, sessionExpires?: number): UpdateReceived {
  return {
    type: 'UpdateReceived',
    callSid: ROOT,
    at: at(30),
    leg,
    update: tx(`z9hG4bK-update-${leg}-${cseq}|UPDATE`),
    ...(sdp !== undefined ? { sdp } : {}),
    cseq,
    ...(sessionExpires !== undefined ? { sessionExpires } : {}),
  };
}

function updateAnswered(status: number, reason: string, sdp?: string): UpdateAnswered {
  return { type: 'UpdateAnswered', callSid: ROOT, at: at(31), status, reason, ...(sdp ? { sdp } : {}) };
}

describe('UPDATE in a confirmed dialog (RFC 3311)', () => {
  it('given a confirmed call, when the PBX sends an UPDATE offer, then the carrier gets an UPDATE with our origin at its next CSeq', () => {
    const then = spec({
      given: answered(),
      when: update('customer', HOLD),
      thenEvents: ['UpdateReceived'],
      thenState: { calls: { [ROOT]: 'updating' } },
    });
    expect(then.wire).toEqual(['UPDATE']);
    const offer = then.request('UPDATE');
    expect(offer.cseq).toEqual({ seq: 2, method: 'UPDATE' });
    expect(directions(offer.body)).toEqual(['a=sendonly']);
    expect(originLine(offer.body)).toMatch(/^o=sip-pivot \d+ 2 IN IP4 /);
  });

  it("the carrier's 2xx answer goes back to the PBX rewritten with our origin; no ACK follows an UPDATE", () => {
    const answer = withDirection(SDP.carrier, 'recvonly');
    const then = spec({
      given: history(...answered(), update('customer', HOLD)),
      when: updateAnswered(200, 'OK', answer),
      thenEvents: ['UpdateAnswered'],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['200']);
    expect(then.response(200)).toMatchObject(tx('z9hG4bK-update-customer-2|UPDATE'));
    expect(directions(then.response(200).body)).toEqual(['a=recvonly']);
    expect(originLine(then.response(200).body)).toMatch(/^o=sip-pivot \d+ 2 IN IP4 /);
    expect(then.call().context.legs.customer?.remoteSdp).toBe(HOLD);
    expect(then.call().context.legs.far?.remoteSdp).toBe(answer);
  });

  it('a refusal from the other leg goes back with its status', () => {
    const then = spec({
      given: history(...answered(), update('far', SDP.carrier, 4)),
      when: updateAnswered(488, 'Not Acceptable Here'),
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['488']);
  });

  it('an UPDATE without SDP is answered 200 by the pivot and relayed nowhere', () => {
    const then = spec({
      given: answered(),
      when: update('customer', undefined),
      thenEvents: ['UpdateReceived'],
    });
    expect(then.wire).toEqual(['200']);
    expect(then.call().context.legs.customer?.remoteCseq).toBe(2);
  });

  it('an UPDATE without SDP from the refresher is a session refresh: the timer moves on', () => {
    const then = spec({
      given: history(callReceived({ sessionExpires: 600 }), callAnswered()),
      when: update('customer', undefined, 2, 600),
      thenEvents: ['UpdateReceived', 'TimerCanceled', 'TimerScheduled'],
    });
    expect(then.response(200).headers).toEqual({ 'Session-Expires': '600;refresher=uac', Require: 'timer' });
    expect(then.event('TimerScheduled').dueAt).toBe(new Date(Date.parse(at(30)) + 600_000).toISOString());
  });

  it('a refresh UPDATE while the other offer is out is still answered', () => {
    const then = spec({
      given: history(...answered(), update('customer', HOLD)),
      when: update('far', undefined, 9),
      thenState: { calls: { [ROOT]: 'updating' } },
    });
    expect(then.wire).toEqual(['200']);
  });

  it('a second UPDATE offer while one is out is not accepted by the machine (the engine answers it 491)', () => {
    const then = spec({
      given: history(...answered(), update('customer', HOLD)),
      when: update('far', SDP.carrier, 9),
      thenAccepted: false,
    });
    expect(then.events).toEqual([]);
  });

  it('a BYE while the UPDATE is out ends the call, and the UPDATE is answered 481', () => {
    const then = spec({
      given: history(...answered(), update('customer', HOLD)),
      when: hangup('far'),
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['200', 'BYE', '481']);
    expect(then.response(481)).toMatchObject(tx('z9hG4bK-update-customer-2|UPDATE'));
  });
});
