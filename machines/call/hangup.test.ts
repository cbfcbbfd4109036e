import { describe, expect, it } from 'vitest';
import {
  callAnswered,
  callReceived,
  hangup,
  PBX,
  PBX_NUMBER,
  PSTN_CALLEE,
  ROOT,
  TRUNK_DOMAIN,
  tx,
} from '../../test/helpers/fixtures.ts';
import { history, spec } from '../../test/helpers/sessionSpec.ts';

const answered = () => history(callReceived(), callAnswered());

describe('call hangup in progress', () => {
  it('a BYE from the PBX is answered 200 and the carrier leg gets a BYE with its next CSeq', () => {
    const then = spec({
      given: answered(),
      when: hangup('customer'),
      thenEvents: ['HangupReceived', { type: 'CallEnded', callSid: ROOT, status: 'completed' }],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['200', 'BYE']);
    expect(then.response(200)).toMatchObject({ ...tx('z9hG4bK-bye-customer|BYE'), reason: 'OK' });
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-fa0000000002-2-bye',
      uri: 'sip:gw@192.0.2.50:5090',
      route: ['<sip:192.0.2.50:5090;lr>'],
      to: { params: { tag: 'carrier-a9' } },
      cseq: { seq: 2, method: 'BYE' },
    });
    expect(then.event('CallEnded').sipStatus).toBeUndefined();
    expect(then.call().context.status).toBe('completed');
    expect(then.call().context.legs.far?.localCseq).toBe(2);
  });

  it('a BYE from the carrier is answered 200 and the PBX leg gets a BYE in its own dialog', () => {
    const then = spec({
      given: answered(),
      when: hangup('far'),
      thenEvents: ['HangupReceived', { type: 'CallEnded', status: 'completed' }],
      thenState: { calls: { [ROOT]: 'ended' } },
    });
    expect(then.wire).toEqual(['200', 'BYE']);
    expect(then.request('BYE')).toMatchObject({
      branch: 'z9hG4bK-c0ffee000001-1-bye',
      uri: 'sip:pbx@10.20.0.10:5070',
      destination: PBX,
      callId: '5c1d8e2a-77f0@10.20.0.10',
      from: { uri: `sip:${PSTN_CALLEE}@${TRUNK_DOMAIN}`, params: { tag: 'pv-c1' } },
      to: { uri: `sip:${PBX_NUMBER}@10.20.0.10`, params: { tag: 'pbx-a1' } },
      cseq: { seq: 1, method: 'BYE' },
    });
  });

  it('an originating call hangs up the PBX leg we placed after the PBX answer', () => {
    const then = spec({
      given: history(
        callReceived({ direction: 'trunking-originating' }),
        callAnswered({ direction: 'trunking-originating' }),
      ),
      when: hangup('far'),
      thenEvents: ['HangupReceived', 'CallEnded'],
    });
    expect(then.request('BYE')).toMatchObject({
      uri: 'sip:pbx@10.20.0.10:5070',
      to: { params: { tag: 'pbx-o7' } },
      cseq: { seq: 2, method: 'BYE' },
    });
  });
});
