import { describe, expect, it } from 'vitest';
import {
  at,
  CARRIER,
  CARRIER_HOST,
  PBX_NUMBER,
  PIVOT_CONTACT,
  PSTN_CALLEE,
  PSTN_CALLER,
  PUBLIC_HOST,
  policy,
  REFERRED_BY,
  ROOT,
  referred,
  SIP_TARGET,
  TARGET,
  TRANSFER,
  TRUNK_DOMAIN,
  targetInvited,
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

const TARGET_CALL_ID = `pv-${ROOT}-000000001234t@${PUBLIC_HOST}`;

describe('transfer: TransfereeHeld -> INVITE the target', () => {
  it('ACKs the hold, INVITEs the Refer-To URI and schedules the no-answer timer', () => {
    const then = spec({
      given: history(...referred()),
      when: transferResponse('TransfereeHeld'),
      thenEvents: [
        'TransfereeHeld',
        {
          type: 'TargetInvited',
          transferSid: TRANSFER,
          uri: SIP_TARGET,
          from: { uri: `sip:${PSTN_CALLEE}@${PUBLIC_HOST}`, params: { tag: 'pv000000001234t' } },
          targetCallId: TARGET_CALL_ID,
        },
        {
          type: 'TimerScheduled',
          transferSid: TRANSFER,
          timerId: `${TRANSFER}:no-answer`,
          name: 'no-answer',
          at: at(21),
          dueAt: at(51),
        },
      ],
      thenState: { calls: { [ROOT]: 'transferring' }, transfers: { [TRANSFER]: 'inviting' } },
    });
    expect(then.wire).toEqual(['ACK', 'INVITE']);
    expect(then.request('ACK')).toMatchObject({
      callId: `pv-${ROOT}-f@${PUBLIC_HOST}`,
      cseq: { seq: 2, method: 'ACK' },
      to: { params: { tag: 'carrier-a9' } },
    });
  });

  it('offers the transferee SDP with a=sendrecv under the target leg origin, Referred-By copied', () => {
    const invite = given(history(...referred()))
      .when(transferResponse('TransfereeHeld'))
      .request('INVITE');
    expect(invite).toMatchObject({
      branch: 'z9hG4bK-000000001234t-1-invite',
      uri: SIP_TARGET,
      destination: TARGET,
      callId: TARGET_CALL_ID,
      to: { uri: SIP_TARGET, params: {} },
      cseq: { seq: 1, method: 'INVITE' },
      contact: PIVOT_CONTACT,
      headers: { 'Referred-By': REFERRED_BY },
      contentType: 'application/sdp',
    });
    expect(originLine(invite.body)).toBe(`o=sip-pivot 4663 1 IN IP4 ${PUBLIC_HOST}`);
    expect(directions(invite.body)).toEqual(['a=sendrecv']);
    expect(sdpLines(invite.body)).toContain('c=IN IP4 192.0.2.50');
    expect(sdpLines(invite.body)).toContain('m=audio 30000 RTP/AVP 0 8 101');
  });

  it('without Referred-By sends no Referred-By header', () => {
    const invite = given(history(...referred({ referredBy: undefined })))
      .when(transferResponse('TransfereeHeld'))
      .request('INVITE');
    expect(invite.headers).toBeUndefined();
  });

  it('keeps the Refer-To URI parameters in the Request-URI', () => {
    const uri = 'sip:alice@pbx2.example.com;transport=tcp';
    const invite = given(history(...referred({ referTo: [`<${uri}>`] })))
      .when(transferResponse('TransfereeHeld'))
      .request('INVITE');
    expect(invite.uri).toBe(uri);
  });

  it("a target reached over TCP gets our Contact with ;transport=tcp, like the call's legs", () => {
    const tcpContact = `<${PIVOT_CONTACT};transport=tcp>`;
    const overTcp = given(
      history(
        ...referred({ targetDestination: { ...TARGET, transport: 'tcp' }, policy: policy({ tcpContact }) }),
      ),
    ).when(transferResponse('TransfereeHeld'));
    expect(overTcp.request('INVITE')).toMatchObject({
      destination: { transport: 'tcp' },
      contact: tcpContact,
    });
    const overUdp = given(history(...referred({ policy: policy({ tcpContact }) }))).when(
      transferResponse('TransfereeHeld'),
    );
    expect(overUdp.request('INVITE').contact).toBe(PIVOT_CONTACT);
    // A REFER stored before the policy had a TCP Contact replays as it ran.
    const stored = given(history(...referred({ targetDestination: { ...TARGET, transport: 'tcp' } }))).when(
      transferResponse('TransfereeHeld'),
    );
    expect(stored.request('INVITE').contact).toBe(PIVOT_CONTACT);
  });

  it.each([
    ['tel:+E164', '<tel:+4930123456>'],
    ['sip:+E164@<trunk domain>', `<sip:+4930123456@${TRUNK_DOMAIN};user=phone>`],
  ])('sends a PSTN target (%s) to the carrier as sip:+E164@carrierHost', (_name, referTo) => {
    const then = given(history(...referred({ referTo: [referTo], targetDestination: undefined }))).when(
      transferResponse('TransfereeHeld'),
    );
    const invite = then.request('INVITE');
    expect(invite.uri).toBe(`sip:+4930123456@${CARRIER_HOST}`);
    expect(invite.to.uri).toBe(`sip:+4930123456@${CARRIER_HOST}`);
    expect(invite.destination).toEqual(CARRIER);
    expect(then.event('TargetInvited').uri).toBe(`sip:+4930123456@${CARRIER_HOST}`);
  });

  it('a PSTN target at a sips: carrier is INVITEd as sips:+E164@carrierHost over TLS, with our sips: Contact', () => {
    const sipsContact = `<sips:pivot@${PUBLIC_HOST}:5061>`;
    const tlsContact = `<sip:pivot@${PUBLIC_HOST}:5061;transport=tls>`;
    const carrier = { ...CARRIER, transport: 'tls' as const, port: 5061 };
    const secure = given(
      history(
        ...referred({
          referTo: ['<tel:+4930123456>'],
          targetDestination: undefined,
          policy: policy({ carrierScheme: 'sips', carrierDestination: carrier, sipsContact, tlsContact }),
        }),
      ),
    ).when(transferResponse('TransfereeHeld'));
    expect(secure.request('INVITE')).toMatchObject({
      uri: `sips:+4930123456@${CARRIER_HOST}`,
      to: { uri: `sips:+4930123456@${CARRIER_HOST}` },
      destination: carrier,
      contact: sipsContact,
    });
    // A sip: target reached over TLS (;transport=tls) keeps its scheme and gets the TLS Contact.
    const uri = 'sip:alice@pbx2.example.com;transport=tls';
    const overTls = given(
      history(
        ...referred({
          referTo: [`<${uri}>`],
          targetDestination: { ...TARGET, transport: 'tls' },
          policy: policy({ sipsContact, tlsContact }),
        }),
      ),
    ).when(transferResponse('TransfereeHeld'));
    expect(overTls.request('INVITE')).toMatchObject({ uri, contact: tlsContact });
  });

  it.each([
    ['trunking-terminating', 'from-transferee', PSTN_CALLEE],
    ['trunking-terminating', 'from-transferor', PBX_NUMBER],
    ['trunking-originating', 'from-transferee', PSTN_CALLER],
    ['trunking-originating', 'from-transferor', PBX_NUMBER],
  ] as const)('%s call, %s: the target sees From %s', (direction, transferCallerId, number) => {
    const then = given(history(...referred({ policy: policy({ transferCallerId }) }, direction))).when(
      transferResponse('TransfereeHeld'),
    );
    expect(then.request('INVITE').from).toEqual({
      uri: `sip:${number}@${PUBLIC_HOST}`,
      params: { tag: 'pv000000001234t' },
    });
    expect(then.event('TargetInvited').from.uri).toBe(`sip:${number}@${PUBLIC_HOST}`);
  });

  it('on an originating call offers the carrier SDP and holds the carrier leg (the inbound one)', () => {
    const refer = given(history(...referred({}, 'trunking-originating')));
    expect(refer.transferState()).toBe('holding');
    const then = refer.when(transferResponse('TransfereeHeld'));
    expect(then.request('ACK')).toMatchObject({ callId: 'b7e1c0de-4411@192.0.2.50', cseq: { seq: 1 } });
    expect(sdpLines(then.request('INVITE').body)).toContain('c=IN IP4 192.0.2.50');
  });

  it('HoldRefused also proceeds to the target, without ACK (the transaction ACKs a non-2xx)', () => {
    const then = spec({
      given: history(...referred()),
      when: transferResponse('HoldRefused'),
      thenEvents: ['HoldRefused', 'TargetInvited', 'TimerScheduled'],
      thenState: { transfers: { [TRANSFER]: 'inviting' } },
    });
    expect(then.wire).toEqual(['INVITE']);
    expect(then.request('INVITE').uri).toBe(SIP_TARGET);
  });
});

describe('transfer: TargetRinging', () => {
  it('reports 180 Ringing to the PBX in a NOTIFY with the next CSeq, subscription active', () => {
    const then = spec({
      given: history(...targetInvited()),
      when: transferResponse('TargetRinging'),
      thenEvents: ['TargetRinging'],
      thenState: { transfers: { [TRANSFER]: 'inviting' } },
    });
    expect(then.wire).toEqual(['NOTIFY']);
    const notify = then.request('NOTIFY');
    expect(sipfrag(notify)).toBe('SIP/2.0 180 Ringing');
    expect(notify.cseq).toEqual({ seq: 2, method: 'NOTIFY' });
    expect(notify.headers).toMatchObject({ Event: 'refer' });
    expect(notify.headers?.['Subscription-State']).toMatch(/^active/);
  });

  it('the NOTIFY of a 183 carries its own status line', () => {
    const notify = given(history(...targetInvited()))
      .when(transferResponse('TargetRinging', { status: 183, reason: 'Session Progress' }))
      .request('NOTIFY');
    expect(sipfrag(notify)).toBe('SIP/2.0 183 Session Progress');
  });
});
