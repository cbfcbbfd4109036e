import { describe, expect, it } from 'vitest';
import {
  answeredCall,
  at,
  policy,
  referReceived,
  TRANSFER,
  transferorHungUp,
  transferResponse,
} from '../../test/helpers/fixtures.ts';
import { history, sipfrag, spec } from '../../test/helpers/sessionSpec.ts';

const UNREACHABLE = { status: 404, reason: 'pbx2.example.com does not resolve to any address' };

/** A REFER to a target whose host name the engine could not locate (no destination, the reason why). */
function referToNowhere(extra: Parameters<typeof referReceived>[0] = {}) {
  return referReceived({ targetDestination: undefined, targetUnreachable: UNREACHABLE, ...extra });
}

describe('transfer: a target name that does not resolve', () => {
  it('is accepted (202, NOTIFY 100, hold); once held, the final NOTIFY says 404 and the far party is resumed', () => {
    const accepted = spec({
      given: history(...answeredCall()),
      when: referToNowhere(),
      thenState: { transfers: { [TRANSFER]: 'holding' } },
    });
    expect(accepted.wire).toEqual(['202', 'NOTIFY', 'INVITE']);
    const failed = spec({
      given: history(...answeredCall(), referToNowhere()),
      when: transferResponse('TransfereeHeld', { at: at(21) }),
      thenEvents: ['TransfereeHeld'],
      thenState: { transfers: { [TRANSFER]: 'resuming' } },
    });
    // ACK of the hold, the final NOTIFY, and the resume re-INVITE: no INVITE to any target.
    expect(failed.wire).toEqual(['ACK', 'NOTIFY', 'INVITE']);
    expect(sipfrag(failed.request('NOTIFY'))).toBe('SIP/2.0 404 Not Found');
    expect(failed.request('INVITE').callId).not.toMatch(/t@/);
  });

  it('with the PBX gone meanwhile, the transfer fails at once and hands the legs back', () => {
    const then = spec({
      given: history(...answeredCall(), referToNowhere(), transferorHungUp({ at: at(21) })),
      when: transferResponse('TransfereeHeld', { at: at(22) }),
      thenState: { transfers: { [TRANSFER]: 'failed' } },
    });
    expect(then.events.map((e) => e.type)).toContain('TransferFailed');
    expect(then.events.find((e) => e.type === 'TransferFailed')).toMatchObject({ status: 404 });
  });

  it('a name located at a carrier address is a PSTN target: refused under sip-only', () => {
    const then = spec({
      given: history(...answeredCall()),
      when: referReceived({
        referTo: ['<sip:+15550300000@sneaky.example.com>'],
        targetDestination: { transport: 'udp', host: '203.0.113.9', port: 5060 },
        targetAddresses: [{ host: '203.0.113.9', port: 5060 }],
        policy: policy({
          transferMode: 'sip-only',
          carrierNetworks: ['203.0.113.0/24'],
          pivotNetworks: [],
          pivotPort: 5060,
        }),
      }),
      thenState: { transfers: { [TRANSFER]: 'rejected' } },
    });
    expect(then.events.find((e) => e.type === 'ReferRejected')).toMatchObject({
      status: 403,
      reason:
        'PSTN targets are not allowed on trunk acme (sip-only): Refer-To host sneaky.example.com is the carrier',
    });
  });
});
