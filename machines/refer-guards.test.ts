/**
 * The transfer machine judging a REFER with the carrier's and the pivot's own addresses in its policy:
 * a SIP URI at the carrier is a PSTN target (refused under sip-only, a billed PSTN transfer under
 * enable-all), the pivot's own address is refused, and what the engine found malformed is refused.
 * Every refusal answers with a Warning and is recorded as ReferRejected.
 */
import { describe, expect, it } from 'vitest';
import {
  answeredCall,
  CARRIER,
  CARRIER_HOST,
  policy,
  REFERRED_BY,
  ROOT,
  referReceived,
  TARGET,
  TRANSFER,
  transferResponse,
  tx,
} from '../test/helpers/fixtures.ts';
import { given, history, spec } from '../test/helpers/sessionSpec.ts';
import type { TransferPolicy } from './events.ts';

/** The carrier's gateway is 192.0.2.50 (CARRIER), its pool 192.0.2.128/25; the pivot 203.0.113.5:5060. */
const guarded = (overrides: Partial<TransferPolicy> = {}) =>
  policy({
    carrierNetworks: ['192.0.2.50/32', '192.0.2.128/25'],
    pivotNetworks: ['203.0.113.5/32', '0.0.0.0/32', '::/128'],
    pivotPort: 5060,
    ...overrides,
  });

function refused(referTo: string[], status: number, reason: string, refer = {}) {
  const then = spec({
    given: history(...answeredCall()),
    when: referReceived({ referTo, ...refer }),
    thenEvents: [
      'ReferReceived',
      { type: 'ReferRejected', callSid: ROOT, transferSid: TRANSFER, status, reason, leg: 'customer' },
    ],
    thenCommands: [
      {
        kind: 'response',
        ...tx('z9hG4bK-pbx-refer-2|REFER'),
        status,
        headers: { Warning: `399 sip-pivot "${reason}"` },
      },
    ],
    thenState: { calls: { [ROOT]: 'inProgress' }, transfers: { [TRANSFER]: 'rejected' } },
  });
  expect(then.call().context.transfersAccepted).toBe(0);
}

describe('sip-only: a SIP URI at the carrier is a PSTN target, refused with 403', () => {
  const sipOnly = { policy: guarded({ transferMode: 'sip-only' }) };
  it.each([
    ['sip:+442071234567@192.0.2.50:5090', '192.0.2.50'],
    ['sip:+442071234567@192.0.2.50', '192.0.2.50'],
    ['sip:+442071234567@192.0.2.50:5999;transport=tcp', '192.0.2.50'],
    ['sip:+442071234567@192.0.2.50;user=phone', '192.0.2.50'],
    ['sips:+442071234567@192.0.2.50', '192.0.2.50'],
    ['sip:+442071234567@[::ffff:192.0.2.50]:5090', '[::ffff:192.0.2.50]'],
    ['sip:+442071234567@192.0.2.200', '192.0.2.200'],
    ['sip:bob@192.0.2.50', '192.0.2.50'],
  ])('%s', (uri, host) => {
    refused(
      [`<${uri}>`],
      403,
      `PSTN targets are not allowed on trunk acme (sip-only): Refer-To host ${host} is the carrier`,
      sipOnly,
    );
  });

  it.each([
    ['192.0.2.050', '192.0.2.050'],
    ['3221226034', '3221226034'],
    ['192.0.562', '192.0.562'],
    ['[::ffff:192.0.2.050]', '[::ffff:192.0.2.050]'],
  ])('the address written as %s: 400, not guessed', (host, shown) => {
    refused(
      [`<sip:+442071234567@${host}:5090>`],
      400,
      `Refer-To host ${shown} is not a valid IP address`,
      sipOnly,
    );
  });

  it('maddr: 400', () => {
    refused(['<sip:bob@198.51.100.7;maddr=192.0.2.50>'], 400, 'Refer-To maddr is not supported', sipOnly);
  });

  it('a SIP target elsewhere is still accepted', () => {
    spec({
      given: history(...answeredCall()),
      when: referReceived({ referTo: ['<sip:+442071234567@198.51.100.7>'], ...sipOnly }),
      thenEvents: ['ReferReceived', { type: 'ReferAccepted', targetKind: 'sip' }],
    });
  });
});

describe('enable-all: a SIP URI at the carrier becomes a PSTN transfer', () => {
  const refer = referReceived({
    referTo: ['<sip:+44-20-7123-4567@[::ffff:192.0.2.50]:7777;transport=tcp>'],
    policy: guarded(),
  });

  it('records a PSTN target with the number', () => {
    spec({
      given: history(...answeredCall()),
      when: refer,
      thenEvents: ['ReferReceived', { type: 'ReferAccepted', targetKind: 'pstn' }],
    });
  });

  it('INVITEs the carrier as for any PSTN target: sip:+E164@<carrier host> at the carrier', () => {
    const then = given(history(...answeredCall(), refer)).when(transferResponse('TransfereeHeld'));
    const invite = then.request('INVITE');
    expect(invite.uri).toBe(`sip:+442071234567@${CARRIER_HOST}`);
    expect(invite.destination).toEqual(CARRIER);
    expect(then.transfer(TRANSFER).context).toMatchObject({
      targetKind: 'pstn',
      targetNumber: '+442071234567',
    });
  });

  it('a user part that is not a +E.164 number cannot be billed: 403', () => {
    refused(
      ['<sip:00442071234567@192.0.2.50>'],
      403,
      'Refer-To host 192.0.2.50 is the carrier: the user part must be a +E.164 number',
      { policy: guarded() },
    );
  });

  it('events stored before the carrier networks were recorded replay as before (a SIP target)', () => {
    spec({
      given: history(...answeredCall()),
      when: referReceived({ referTo: ['<sip:+442071234567@192.0.2.50:5090>'], targetDestination: CARRIER }),
      thenEvents: ['ReferReceived', { type: 'ReferAccepted', targetKind: 'sip' }],
    });
  });
});

describe("the pivot's own address: 403 before any INVITE", () => {
  it.each([
    ['sip:bob@203.0.113.5', '203.0.113.5:5060'],
    ['sip:bob@203.0.113.5:5060;transport=tcp', '203.0.113.5:5060'],
    ['sip:bob@[::ffff:203.0.113.5]:5060', '[::ffff:203.0.113.5]:5060'],
    ['sip:bob@0.0.0.0', '0.0.0.0:5060'],
  ])('%s', (uri, where) => {
    refused([`<${uri}>`], 403, `Refer-To ${where} is the pivot's own address (the transfer would loop)`, {
      policy: guarded(),
      targetDestination: TARGET,
    });
  });
});

describe('control characters and %-escapes: 400', () => {
  it('what the engine found malformed is refused with its reason', () => {
    refused(['<sip:+44207%01@198.51.100.7>'], 400, 'control character in Refer-To', {
      malformed: 'control character in Refer-To',
      policy: guarded(),
    });
  });

  it('checks Referred-By itself, since it is copied into the target INVITE', () => {
    refused(['<sip:bob@198.51.100.7>'], 400, 'control character in Referred-By', {
      referredBy: `${REFERRED_BY}\r\nX-Evil: 1`,
      policy: guarded(),
    });
    refused(['<sip:bob@198.51.100.7>'], 400, 'invalid %-escape in Referred-By URI', {
      referredBy: '<sip:agent%zz@10.20.0.10>',
      policy: guarded(),
    });
  });

  it('checks Refer-To itself too', () => {
    refused(['<sip:+44207\x01@198.51.100.7>'], 400, 'control character in Refer-To', { policy: guarded() });
  });

  it('a REFER stored before these checks replays as it was decided', () => {
    spec({
      given: history(...answeredCall()),
      when: referReceived({
        referTo: ['<sip:bob%zz@198.51.100.7>'],
        referredBy: '<sip:agent%zz@10.20.0.10>',
      }),
      thenEvents: ['ReferReceived', { type: 'ReferAccepted', targetKind: 'sip' }],
    });
  });
});
