import { describe, expect, it } from 'vitest';
import {
  CARRIER,
  CARRIER_HOST,
  callAnswered,
  callCanceled,
  callProgress,
  callReceived,
  callRejected,
  PBX,
  PBX_NUMBER,
  PIVOT_CONTACT,
  PSTN_CALLEE,
  PUBLIC_HOST,
  ROOT,
  SDP,
  tx,
} from '../../test/helpers/fixtures.ts';
import { directions, given, history, originLine, sdpLines, spec } from '../../test/helpers/sessionSpec.ts';

describe('call setup: CallReceived', () => {
  it('answers 100 Trying and INVITEs the carrier with the PBX SDP under the pivot origin', () => {
    const then = spec({
      given: [],
      when: callReceived(),
      thenEvents: ['CallReceived'],
      thenState: { calls: { [ROOT]: 'ringing' } },
    });
    expect(then.wire).toEqual(['100', 'INVITE']);
    expect(then.response(100)).toEqual({
      kind: 'response',
      adapterId: 'adapter-1',
      transactionKey: 'z9hG4bK-pbx-inv-1|INVITE',
      status: 100,
      reason: 'Trying',
    });
    const invite = then.request('INVITE');
    expect(invite).toMatchObject({
      branch: 'z9hG4bK-fa0000000002-1-invite',
      uri: `sip:${PSTN_CALLEE}@${CARRIER_HOST}`,
      destination: CARRIER,
      callId: `pv-${ROOT}-f@${PUBLIC_HOST}`,
      from: { uri: `sip:${PBX_NUMBER}@${PUBLIC_HOST}`, params: { tag: 'pv-f1' } },
      to: { uri: `sip:${PSTN_CALLEE}@${CARRIER_HOST}`, params: {} },
      cseq: { seq: 1, method: 'INVITE' },
      contact: PIVOT_CONTACT,
      contentType: 'application/sdp',
    });
    expect(invite.route).toBeUndefined();
    expect(originLine(invite.body)).toBe(`o=sip-pivot 1002 1 IN IP4 ${PUBLIC_HOST}`);
    // Media is end to end: everything but the origin is the PBX's.
    expect(sdpLines(invite.body).filter((l) => !l.startsWith('o='))).toEqual(
      sdpLines(SDP.pbx).filter((l) => !l.startsWith('o=')),
    );
  });

  it('keeps the dialogs in the call context: the customer leg is the inbound one when terminating', () => {
    const { call } = given(history(callReceived()));
    const { context } = call();
    expect(context).toMatchObject({ status: 'ringing', inbound: 'customer', outbound: 'far' });
    expect(context.legs.customer?.remoteSdp).toBe(SDP.pbx);
    expect(context.legs.far?.localCseq).toBe(1);
    expect(context.legs.far?.origin.version).toBe(1);
  });

  it('places the PBX leg when originating: the carrier is the inbound (far) leg', () => {
    const then = given([]).when(callReceived({ direction: 'trunking-originating' }));
    expect(then.response(100).transactionKey).toBe('z9hG4bK-carrier-inv-1|INVITE');
    const invite = then.request('INVITE');
    expect(invite.destination).toEqual(PBX);
    expect(invite.uri).toBe(`sip:${PBX_NUMBER}@10.20.0.10:5070`);
    expect(originLine(invite.body)).toBe(`o=sip-pivot 1001 1 IN IP4 ${PUBLIC_HOST}`);
    expect(sdpLines(invite.body)).toContain('c=IN IP4 192.0.2.50');
    expect(then.call().context).toMatchObject({ inbound: 'far', outbound: 'customer' });
  });
});

describe('call setup: CallProgress', () => {
  it('relays a 180 without SDP to the caller with our To tag', () => {
    spec({
      given: history(callReceived()),
      when: callProgress(),
      thenEvents: ['CallProgress'],
      thenCommands: [
        {
          kind: 'response',
          transactionKey: 'z9hG4bK-pbx-inv-1|INVITE',
          status: 180,
          reason: 'Ringing',
          toTag: 'pv-c1',
        },
      ],
      thenState: { calls: { [ROOT]: 'ringing' } },
    }).commands.forEach((c) => {
      expect(c.body).toBeUndefined();
    });
  });

  it('relays a 183 with early media SDP under the pivot origin of the caller leg', () => {
    const then = given(history(callReceived())).when(
      callProgress({ status: 183, reason: 'Session Progress', sdp: SDP.carrier }),
    );
    const reply = then.response(183);
    expect(reply.toTag).toBe('pv-c1');
    expect(reply.contentType).toBe('application/sdp');
    expect(originLine(reply.body)).toBe(`o=sip-pivot 1001 1 IN IP4 ${PUBLIC_HOST}`);
    expect(sdpLines(reply.body)).toContain('m=audio 30000 RTP/AVP 0 8 101');
    expect(then.call().context.legs.customer?.origin.version).toBe(1);
  });
});

describe('call setup: CallAnswered', () => {
  it('ACKs the carrier and answers the PBX 200 with the carrier SDP, To tag and Contact', () => {
    const then = spec({
      given: history(callReceived(), callProgress()),
      when: callAnswered(),
      thenEvents: ['CallAnswered'],
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['ACK', '200']);
    const ack = then.request('ACK');
    expect(ack).toMatchObject({
      uri: 'sip:gw@192.0.2.50:5090',
      route: ['<sip:192.0.2.50:5090;lr>'],
      to: { params: { tag: 'carrier-a9' } },
      cseq: { seq: 1, method: 'ACK' },
    });
    expect(ack.body).toBeUndefined();
    expect(ack.branch).not.toBe('z9hG4bK-fa0000000002-1-invite');
    const ok = then.response(200);
    expect(ok).toMatchObject({
      transactionKey: 'z9hG4bK-pbx-inv-1|INVITE',
      reason: 'OK',
      toTag: 'pv-c1',
      contact: PIVOT_CONTACT,
      contentType: 'application/sdp',
    });
    expect(originLine(ok.body)).toBe(`o=sip-pivot 1001 1 IN IP4 ${PUBLIC_HOST}`);
    expect(sdpLines(ok.body)).toContain('c=IN IP4 192.0.2.50');
    expect(directions(ok.body)).toEqual(['a=sendrecv']);
  });

  it('records the answered dialog: remote tag, target, routes, SDP; no pending INVITE left', () => {
    const { context } = given(history(callReceived(), callAnswered())).call();
    expect(context.status).toBe('in-progress');
    expect(context.legs.far).toMatchObject({
      remote: { params: { tag: 'carrier-a9' } },
      remoteTarget: 'sip:gw@192.0.2.50:5090',
      routeSet: ['<sip:192.0.2.50:5090;lr>'],
      remoteSdp: SDP.carrier,
    });
    expect(context.legs.customer?.pendingInvite).toBeUndefined();
  });
});

describe('call setup: CallRejected', () => {
  it.each([
    [486, 'Busy Here', 'busy'],
    [600, 'Busy Everywhere', 'busy'],
    [408, 'Request Timeout', 'no-answer'],
    [480, 'Temporarily Unavailable', 'no-answer'],
    [503, 'Service Unavailable', 'failed'],
    [404, 'Not Found', 'failed'],
  ])('relays %i %s to the caller and ends the call %s', (status, reason, callStatus) => {
    const then = spec({
      given: history(callReceived(), callProgress()),
      when: callRejected(status, reason),
      thenEvents: [
        'CallRejected',
        { type: 'CallEnded', callSid: ROOT, status: callStatus, sipStatus: status },
      ],
      thenCommands: [
        { kind: 'response', transactionKey: 'z9hG4bK-pbx-inv-1|INVITE', status, reason, toTag: 'pv-c1' },
      ],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.call().context.status).toBe(callStatus);
  });
});

describe('call setup: CallCanceled', () => {
  it('answers the CANCEL 200, the INVITE 487 and CANCELs the carrier INVITE on its branch', () => {
    const then = spec({
      given: history(callReceived(), callProgress()),
      when: callCanceled(),
      thenEvents: ['CallCanceled', { type: 'CallEnded', status: 'canceled', sipStatus: 487 }],
      thenState: { calls: { [ROOT]: 'canceling' } },
    });
    expect(then.wire).toEqual(['200', '487', 'CANCEL']);
    expect(then.response(200)).toMatchObject(tx('z9hG4bK-pbx-inv-1|CANCEL'));
    expect(then.response(487)).toMatchObject({
      ...tx('z9hG4bK-pbx-inv-1|INVITE'),
      reason: 'Request Terminated',
      toTag: 'pv-c1',
    });
    const cancel = then.request('CANCEL');
    expect(cancel).toMatchObject({
      branch: 'z9hG4bK-fa0000000002-1-invite',
      uri: `sip:${PSTN_CALLEE}@${CARRIER_HOST}`,
      callId: `pv-${ROOT}-f@${PUBLIC_HOST}`,
      cseq: { seq: 1, method: 'CANCEL' },
      to: { params: {} },
    });
    expect(cancel.body).toBeUndefined();
    expect(then.call().context.status).toBe('canceled');
  });
});

describe('call setup: after the CANCEL', () => {
  const canceled = () => history(callReceived(), callProgress(), callCanceled());

  it('the carrier 487 ends the call; nothing is sent and the call stays logged as canceled', () => {
    const then = spec({
      given: canceled(),
      when: callRejected(487, 'Request Terminated'),
      thenEvents: ['CallRejected'],
      thenCommands: [],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.call().context.status).toBe('canceled');
  });

  it('a 200 that crossed the CANCEL is ACKed and hung up at once (RFC 3261 §15)', () => {
    const then = spec({
      given: canceled(),
      when: callAnswered(),
      thenEvents: ['CallAnswered'],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['ACK', 'BYE']);
    expect(then.request('ACK')).toMatchObject({
      uri: 'sip:gw@192.0.2.50:5090',
      to: { params: { tag: 'carrier-a9' } },
      cseq: { seq: 1, method: 'ACK' },
    });
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-fa0000000002-2-bye',
      uri: 'sip:gw@192.0.2.50:5090',
      route: ['<sip:192.0.2.50:5090;lr>'],
      to: { params: { tag: 'carrier-a9' } },
      cseq: { seq: 2, method: 'BYE' },
    });
    // The caller was already answered 487: nothing goes to the PBX.
    expect(then.responses).toEqual([]);
    expect(then.call().context.status).toBe('canceled');
  });
});
