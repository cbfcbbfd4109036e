import { describe, expect, it } from 'vitest';
import {
  at,
  callAnswered,
  callReceived,
  hangup,
  ROOT,
  referReceived,
  SDP,
  tx,
} from '../../test/helpers/fixtures.ts';
import { history, spec } from '../../test/helpers/sessionSpec.ts';
import type { LegName } from '../dialog.ts';
import type { InfoAnswered, InfoReceived, ReInviteReceived } from '../events.ts';

const answered = () => history(callReceived(), callAnswered());
const DTMF_RELAY = 'Signal=5\r\nDuration=160\r\n';

function info(leg: LegName, key: string, cseq: number, body = DTMF_RELAY): InfoReceived {
  return {
    type: 'InfoReceived',
    callSid: ROOT,
    at: at(20),
    leg,
    info: tx(`z9hG4bK-info-${key}|INFO`),
    body,
    contentType: 'application/dtmf-relay',
    cseq,
  };
}

function infoAnswered(leg: LegName, cseq: number, status = 200, reason = 'OK'): InfoAnswered {
  return { type: 'InfoAnswered', callSid: ROOT, at: at(21), leg, cseq, status, reason };
}

const reInvite: ReInviteReceived = {
  type: 'ReInviteReceived',
  callSid: ROOT,
  at: at(19),
  leg: 'customer',
  reinvite: tx('z9hG4bK-reinv|INVITE'),
  sdp: SDP.pbx,
  cseq: 2,
};

describe('INFO relayed end to end (RFC 6086)', () => {
  it("given a confirmed call, when the PBX sends an INFO, then the carrier leg gets it with the same body at that leg's next CSeq", () => {
    const then = spec({
      given: answered(),
      when: info('customer', 'a', 2),
      thenEvents: ['InfoReceived'],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['INFO']);
    const relayed = then.request('INFO');
    expect(relayed.cseq).toEqual({ seq: 2, method: 'INFO' });
    expect(relayed.body).toBe(DTMF_RELAY);
    expect(relayed.contentType).toBe('application/dtmf-relay');
    expect(relayed.callId).toBe(then.call().context.legs.far?.callId);
    expect(then.call().context.legs.customer?.remoteCseq).toBe(2);
  });

  it("given a relayed INFO, when the carrier answers it, then its status and reason go back on the PBX's INFO", () => {
    const then = spec({
      given: history(...answered(), info('customer', 'a', 2)),
      when: infoAnswered('far', 2, 415, 'Unsupported Media Type'),
      thenEvents: ['InfoAnswered'],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['415']);
    expect(then.response(415)).toMatchObject({
      ...tx('z9hG4bK-info-a|INFO'),
      reason: 'Unsupported Media Type',
    });
    expect(then.call().context.infos).toBeUndefined();
  });

  it('given two INFOs in flight, each answer goes to its own INFO and only that one is forgotten', () => {
    const given = history(...answered(), info('customer', 'a', 2), info('customer', 'b', 3));
    const then = spec({ given, when: infoAnswered('far', 3), thenEvents: ['InfoAnswered'] });
    expect(then.response(200)).toMatchObject(tx('z9hG4bK-info-b|INFO'));
    expect(then.call().context.infos).toEqual([
      { from: 'customer', to: 'far', cseq: 2, transaction: tx('z9hG4bK-info-a|INFO') },
    ]);
  });

  it('given an INFO from the carrier, then it goes to the PBX leg, and a 408 from the adapter goes back', () => {
    const sent = spec({ given: answered(), when: info('far', 'c', 7, '5') });
    expect(sent.request('INFO').callId).toBe(sent.call().context.legs.customer?.callId);
    expect(sent.request('INFO').cseq.seq).toBe(1);
    const then = spec({
      given: history(...answered(), info('far', 'c', 7, '5')),
      when: infoAnswered('customer', 1, 408, 'Request Timeout'),
    });
    expect(then.wire).toEqual(['408']);
    expect(then.response(408)).toMatchObject(tx('z9hG4bK-info-c|INFO'));
  });

  it('given a re-INVITE being relayed, an INFO still goes across', () => {
    const then = spec({
      given: history(...answered(), reInvite),
      when: info('customer', 'a', 3),
      thenState: { calls: { [ROOT]: 'relaying' } },
    });
    expect(then.wire).toEqual(['INFO']);
    // The re-INVITE took CSeq 2 on the far leg; the INFO is the next request there.
    expect(then.request('INFO').cseq.seq).toBe(3);
  });

  it('given a transfer started while an INFO was out, its answer still goes back', () => {
    const then = spec({
      given: history(...answered(), info('customer', 'a', 2), referReceived({ cseq: 3 })),
      when: infoAnswered('far', 2),
      thenEvents: ['InfoAnswered'],
    });
    expect(then.callState()).toBe('transferring');
    expect(then.response(200)).toMatchObject(tx('z9hG4bK-info-a|INFO'));
  });

  it('an answer to an INFO nobody waits for, or after the call ended, is not accepted', () => {
    expect(spec({ given: answered(), when: infoAnswered('far', 2), thenAccepted: false }).events).toEqual([]);
    const ended = history(...answered(), info('customer', 'a', 2), hangup('customer'));
    expect(spec({ given: ended, when: infoAnswered('far', 2), thenAccepted: false }).events).toEqual([]);
  });
});
