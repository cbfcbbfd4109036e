import { describe, expect, it } from 'vitest';
import {
  answeredCall,
  CHILD_2,
  callReceived,
  policy,
  REFERRED_BY,
  ROOT,
  referReceived,
  referred,
  SIP_TARGET,
  TRANSFER,
  TRANSFER_2,
  TRUNK_DOMAIN,
  targetBusy,
  transferResponse,
  tx,
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

describe('transfer: REFER accepted', () => {
  it('answers 202, records ReferAccepted, NOTIFYs 100 Trying and holds the far party', () => {
    const then = spec({
      given: history(...answeredCall()),
      when: referReceived(),
      thenEvents: [
        'ReferReceived',
        {
          type: 'ReferAccepted',
          callSid: ROOT,
          transferSid: TRANSFER,
          referTo: SIP_TARGET,
          targetKind: 'sip',
          referredBy: REFERRED_BY,
          referSub: true,
        },
      ],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'holding' } },
    });
    expect(then.wire).toEqual(['202', 'NOTIFY', 'INVITE']);
    const accepted = then.response(202);
    expect(accepted).toMatchObject({ ...tx('z9hG4bK-pbx-refer-2|REFER'), reason: 'Accepted' });
    expect(accepted.headers).toBeUndefined();
  });

  it('sends NOTIFY 100 Trying in the customer dialog with its next CSeq', () => {
    const notify = given(history(...answeredCall()))
      .when(referReceived())
      .request('NOTIFY');
    expect(notify).toMatchObject({
      branch: 'z9hG4bK-c0ffee000001-1-notify',
      uri: 'sip:pbx@10.20.0.10:5070',
      callId: '5c1d8e2a-77f0@10.20.0.10',
      from: { params: { tag: 'pv-c1' } },
      to: { params: { tag: 'pbx-a1' } },
      cseq: { seq: 1, method: 'NOTIFY' },
      contentType: 'message/sipfrag;version=2.0',
    });
    expect(notify.headers?.Event).toBe('refer');
    expect(notify.headers?.['Subscription-State']).toMatch(/^active(;|$)/);
    expect(sipfrag(notify)).toBe('SIP/2.0 100 Trying');
  });

  it('holds the far party: re-INVITE with the PBX SDP, a=sendonly, our origin one version up', () => {
    const hold = given(history(...answeredCall()))
      .when(referReceived())
      .request('INVITE');
    expect(hold).toMatchObject({
      branch: 'z9hG4bK-fa0000000002-2-invite',
      uri: 'sip:gw@192.0.2.50:5090',
      route: ['<sip:192.0.2.50:5090;lr>'],
      to: { params: { tag: 'carrier-a9' } },
      cseq: { seq: 2, method: 'INVITE' },
      contentType: 'application/sdp',
    });
    expect(originLine(hold.body)).toBe('o=sip-pivot 1002 2 IN IP4 203.0.113.5');
    expect(directions(hold.body)).toEqual(['a=sendonly']);
    expect(sdpLines(hold.body)).toContain('c=IN IP4 10.20.0.10');
  });

  it('with Refer-Sub: false answers 202 with Refer-Sub: false and sends no NOTIFY', () => {
    const then = spec({
      given: history(...answeredCall()),
      when: referReceived({ referSub: false }),
      thenEvents: ['ReferReceived', { type: 'ReferAccepted', referSub: false }],
      thenState: { transfers: { [TRANSFER]: 'holding' } },
    });
    expect(then.wire).toEqual(['202', 'INVITE']);
    expect(then.response(202).headers).toEqual({ 'Refer-Sub': 'false' });
    // ... and none later either.
    const later = given([...history(...referred({ referSub: false }))]).when(
      transferResponse('TransfereeHeld'),
    );
    expect(later.requests.map((r) => r.method)).toEqual(['ACK', 'INVITE']);
  });

  it('a second REFER after a failed transfer uses Event: refer;id=<CSeq>', () => {
    const failed = history(...targetBusy(), transferResponse('TransfereeResumed'));
    expect(given(failed).callState()).toBe('inProgress');
    const then = spec({
      given: failed,
      when: referReceived({
        transferSid: TRANSFER_2,
        childCallSid: CHILD_2,
        cseq: 3,
        refer: tx('z9hG4bK-pbx-refer-3|REFER'),
      }),
      thenEvents: ['ReferReceived', { type: 'ReferAccepted', transferSid: TRANSFER_2 }],
      thenState: {
        calls: { [ROOT]: 'transferring' },
        transfers: { [TRANSFER]: 'failed', [TRANSFER_2]: 'holding' },
      },
    });
    const notify = then.request('NOTIFY');
    expect(notify.headers?.Event).toBe('refer;id=3');
    // The first transfer's two NOTIFYs used CSeq 1 and 2.
    expect(notify.cseq).toEqual({ seq: 3, method: 'NOTIFY' });
    // Hold 2, resume 3 on the far leg: the new hold is 4.
    expect(then.request('INVITE').cseq).toEqual({ seq: 4, method: 'INVITE' });
    expect(then.call().context.transfersAccepted).toBe(2);
  });
});

describe('transfer: REFER rejected', () => {
  const longRefer = '<sip:alice@pbx2.example.com?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>';
  const cases: Array<[string, number, string, string, Parameters<typeof referReceived>[0]]> = [
    ['no Refer-To', 400, 'Bad Request', 'exactly one Refer-To', { referTo: [] }],
    [
      'two Refer-To headers',
      400,
      'Bad Request',
      'exactly one Refer-To',
      { referTo: ['<sip:a@pbx2.example.com>', '<sip:b@pbx2.example.com>'] },
    ],
    [
      'two values in one Refer-To',
      400,
      'Bad Request',
      'exactly one Refer-To',
      { referTo: ['<sip:a@pbx2.example.com>, <sip:b@pbx2.example.com>'] },
    ],
    [
      'URI headers (?Replaces=)',
      400,
      'Bad Request',
      'Refer-To URI headers are not supported',
      { referTo: [longRefer] },
    ],
    [
      'disable-all',
      403,
      'Forbidden',
      'transfers are disabled on trunk acme',
      { policy: policy({ transferMode: 'disable-all' }) },
    ],
    [
      'sip-only with tel:+E164',
      403,
      'Forbidden',
      'PSTN targets are not allowed on trunk acme (sip-only)',
      { referTo: ['<tel:+4930123456>'], policy: policy({ transferMode: 'sip-only' }) },
    ],
    [
      'sip-only with sip:+E164@<trunk domain>',
      403,
      'Forbidden',
      'PSTN targets are not allowed on trunk acme (sip-only)',
      {
        referTo: [`<sip:+4930123456@${TRUNK_DOMAIN};user=phone>`],
        policy: policy({ transferMode: 'sip-only' }),
      },
    ],
    ['a REFER on the far leg', 403, 'Forbidden', 'REFER from the carrier side', { leg: 'far' }],
  ];

  it.each(cases)('%s -> %i %s', (_name, status, reason, why, overrides) => {
    const then = spec({
      given: history(...answeredCall()),
      when: referReceived(overrides),
      thenEvents: [
        'ReferReceived',
        { type: 'ReferRejected', callSid: ROOT, transferSid: TRANSFER, status, reason: why },
      ],
      thenCommands: [
        {
          kind: 'response',
          ...tx('z9hG4bK-pbx-refer-2|REFER'),
          status,
          reason,
          headers: { Warning: `399 sip-pivot "${why}"` },
        },
      ],
      thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER]: 'rejected' } },
    });
    expect(then.call().context.transfersAccepted).toBe(0);
  });

  it('sip-only accepts a SIP target', () => {
    spec({
      given: history(...answeredCall()),
      when: referReceived({ policy: policy({ transferMode: 'sip-only' }) }),
      thenEvents: ['ReferReceived', 'ReferAccepted'],
      thenState: { transfers: { [TRANSFER]: 'holding' } },
    });
  });

  it('403 once maxTransfersPerCall transfers were accepted', () => {
    const one = policy({ maxTransfersPerCall: 1 });
    const failed = history(...targetBusy({ policy: one }), transferResponse('TransfereeResumed'));
    spec({
      given: failed,
      when: referReceived({ transferSid: TRANSFER_2, childCallSid: CHILD_2, cseq: 3, policy: one }),
      thenEvents: [
        'ReferReceived',
        {
          type: 'ReferRejected',
          transferSid: TRANSFER_2,
          status: 403,
          reason: 'maxTransfersPerCall (1) reached',
        },
      ],
      thenCommands: [{ status: 403, reason: 'Forbidden' }],
      thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER_2]: 'rejected' } },
    });
  });

  it('491 while another transfer is running', () => {
    spec({
      given: history(...referred()),
      when: referReceived({ transferSid: TRANSFER_2, childCallSid: CHILD_2, cseq: 3 }),
      thenEvents: [
        'ReferReceived',
        {
          type: 'ReferRejected',
          transferSid: TRANSFER_2,
          status: 491,
          reason: 'another transfer is in progress',
        },
      ],
      thenCommands: [{ status: 491, reason: 'Request Pending' }],
      thenState: {
        calls: { [ROOT]: 'transferring' },
        transfers: { [TRANSFER]: 'holding', [TRANSFER_2]: 'rejected' },
      },
    });
  });

  it('403 before the call is answered', () => {
    spec({
      given: history(callReceived()),
      when: referReceived(),
      thenEvents: [
        'ReferReceived',
        { type: 'ReferRejected', status: 403, reason: 'call is not in progress' },
      ],
      thenCommands: [{ status: 403 }],
      thenState: { calls: { [ROOT]: 'ringing' } },
    });
  });
});
