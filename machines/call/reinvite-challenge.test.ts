import { describe, expect, it } from 'vitest';
import { at, callAnswered, callReceived, ROOT, SDP, tx } from '../../test/helpers/fixtures.ts';
import { history, spec } from '../../test/helpers/sessionSpec.ts';
import type { ReInviteAnswered, ReInviteReceived } from '../events.ts';
import { withDirection } from '../sdp.ts';

const HOLD = withDirection(SDP.pbx, 'sendonly');
const CREDENTIALS = { header: 'Authorization' as const, value: 'Digest username="pivot", response="abc"' };

const holdFromPbx: ReInviteReceived = {
  type: 'ReInviteReceived',
  callSid: ROOT,
  at: at(20),
  leg: 'customer',
  reinvite: tx('z9hG4bK-reinv-customer|INVITE'),
  sdp: HOLD,
};

function answered(status: number, reason: string, extra: Partial<ReInviteAnswered> = {}): ReInviteAnswered {
  return { type: 'ReInviteAnswered', callSid: ROOT, at: at(21), status, reason, ...extra };
}

describe('a relayed re-INVITE the carrier challenges', () => {
  const challenged = answered(401, 'Unauthorized', { authorization: CREDENTIALS });

  it('is sent once more with credentials, the same offer at the next CSeq; nothing reaches the PBX yet', () => {
    const first = spec({
      given: history(callReceived(), callAnswered()),
      when: holdFromPbx,
      thenState: { calls: { [ROOT]: 'relaying' } },
    }).request('INVITE');
    const then = spec({
      given: history(callReceived(), callAnswered(), holdFromPbx),
      when: challenged,
      thenState: { calls: { [ROOT]: 'relaying' } },
    });
    expect(then.wire).toEqual(['INVITE']);
    const again = then.request('INVITE');
    expect(again.cseq).toEqual({ seq: first.cseq.seq + 1, method: 'INVITE' });
    expect(again.headers).toMatchObject({ Authorization: CREDENTIALS.value });
    expect(again.body).toBe(first.body);
  });

  it('the answer to the one with credentials is ACKed at its CSeq and passed to the PBX', () => {
    const then = spec({
      given: history(callReceived(), callAnswered(), holdFromPbx, challenged),
      when: answered(200, 'OK', { sdp: withDirection(SDP.carrier, 'recvonly') }),
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['ACK', '200']);
    expect(then.request('ACK').cseq).toEqual({ seq: 3, method: 'ACK' });
  });

  it('a challenge without credentials (none configured, or a second one) is passed back as the answer', () => {
    const then = spec({
      given: history(callReceived(), callAnswered(), holdFromPbx, challenged),
      when: answered(401, 'Unauthorized'),
      thenState: { calls: { [ROOT]: 'inProgress' } },
    });
    expect(then.wire).toEqual(['401']);
  });
});
