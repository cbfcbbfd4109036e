/**
 * Given an accepted transfer, when the target is INVITEd, then the INVITE tells the PSTN who is calling
 * (P-Asserted-Identity) and who transferred the call (Diversion), as the trunk's policy says.
 */
import { describe, expect, it } from 'vitest';
import {
  PBX_NUMBER,
  PSTN_CALLEE,
  PUBLIC_HOST,
  policy,
  REFERRED_BY,
  referred,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { history, spec } from '../../test/helpers/sessionSpec.ts';

function targetInvite(overrides: Parameters<typeof policy>[0]) {
  const then = spec({
    given: history(...referred({ policy: policy({ presentIdentity: true, ...overrides }) })),
    when: transferResponse('TransfereeHeld'),
  });
  return then.request('INVITE');
}

describe('transfer: the target INVITE presents the caller and the transferor', () => {
  it('from-transferee: the transferee is asserted, the PBX number is the diverting party', () => {
    const invite = targetInvite({});
    expect(invite.from.uri).toBe(`sip:${PSTN_CALLEE}@${PUBLIC_HOST}`);
    expect(invite.headers).toEqual({
      'P-Asserted-Identity': `<sip:${PSTN_CALLEE}@${PUBLIC_HOST}>`,
      Diversion: `<sip:${PBX_NUMBER}@${PUBLIC_HOST}>;reason=deflection;counter=1`,
      'Referred-By': REFERRED_BY,
    });
  });

  it('from-transferor: the PBX number is the caller and nothing was diverted', () => {
    const invite = targetInvite({ transferCallerId: 'from-transferor' });
    expect(invite.headers?.['P-Asserted-Identity']).toBe(`<sip:${PBX_NUMBER}@${PUBLIC_HOST}>`);
    expect(invite.headers?.Diversion).toBeUndefined();
  });

  it('a transfer stored before identity was presented sends only Referred-By', () => {
    const then = spec({ given: history(...referred()), when: transferResponse('TransfereeHeld') });
    expect(then.request('INVITE').headers).toEqual({ 'Referred-By': REFERRED_BY });
  });
});
