/**
 * REFERs the pivot must refuse, over the wire: trunk policy (403), malformed Refer-To (400), no dialog
 * (481), the wrong side of the call (403). A refused REFER changes nothing: the call goes on and the
 * PBX hangs up normally; the refusal and its reason are stored as ReferRejected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '../helpers/sipp.ts';
import { allPassed, carrier, pbx } from './parties.ts';
import {
  type PivotOptions,
  type PivotUnderTest,
  startTestPivot,
  TRUNK_DOMAIN,
  the,
  typesOf,
} from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

interface Refusal {
  title: string;
  trunk?: PivotOptions['trunk'];
  referTo: string[];
  status: number;
  reason: string;
}

/** A Call-ID the pivot would have made (it embeds a session sid), of a session that does not exist. */
const UNKNOWN_PIVOT_CALL_ID = `pv-CA${'0'.repeat(32)}-1f@127.0.0.1`;

const refusals: Refusal[] = [
  {
    title: 'transferMode disable-all',
    trunk: { transferMode: 'disable-all' },
    referTo: ['<sip:target@127.0.0.1:5999>'],
    status: 403,
    reason: 'transfers are disabled on trunk acme',
  },
  {
    title: 'sip-only and a tel: PSTN target',
    trunk: { transferMode: 'sip-only' },
    referTo: ['<tel:+15550300000>'],
    status: 403,
    reason: 'PSTN targets are not allowed on trunk acme (sip-only)',
  },
  {
    title: 'sip-only and a sip:+E164@<trunk domain> PSTN target',
    trunk: { transferMode: 'sip-only' },
    referTo: [`<sip:+15550300000@${TRUNK_DOMAIN}>`],
    status: 403,
    reason: 'PSTN targets are not allowed on trunk acme (sip-only)',
  },
  { title: 'no Refer-To', referTo: [], status: 400, reason: 'exactly one Refer-To' },
  {
    title: 'two Refer-To headers',
    referTo: ['<sip:target@127.0.0.1:5999>', '<sip:other@127.0.0.1:5998>'],
    status: 400,
    reason: 'exactly one Refer-To',
  },
  {
    title: 'a Refer-To with ?Replaces= naming a pivot Call-ID that is no call (attended transfer)',
    referTo: [
      `<sip:target@127.0.0.1:5999?Replaces=${UNKNOWN_PIVOT_CALL_ID.replace('@', '%40')}%3Bto-tag%3D1%3Bfrom-tag%3D2>`,
    ],
    status: 403,
    reason: `Replaces names no call through the pivot (Call-ID ${UNKNOWN_PIVOT_CALL_ID})`,
  },
  {
    title: 'a Refer-To with another URI header',
    referTo: ['<sip:target@127.0.0.1:5999?Call-ID=abc%40pbx>'],
    status: 400,
    reason: 'Refer-To URI headers are not supported',
  },
];

describe('a REFER the pivot refuses', () => {
  for (const refusal of refusals) {
    it(`${refusal.title}: ${refusal.status}, the call goes on`, async () => {
      const carrierPort = await freePort();
      pivot = await startTestPivot({ carrierPort, ...(refusal.trunk ? { trunk: refusal.trunk } : {}) });
      const far = carrier({ port: carrierPort, flow: 'hung_up' });
      await far.ready;
      const agent = pbx(pivot.address, { flow: 'refused', referTo: refusal.referTo, status: refusal.status });
      await allPassed(agent, far);

      const events = await pivot.events();
      const root = the(events, 'CallReceived').data.callSid;
      expect(typesOf(events, root)).toEqual([
        'CallReceived',
        'CallProgress',
        'CallAnswered',
        'CallAcked',
        'ReferReceived',
        'ReferRejected',
        'HangupReceived',
        'CallEnded',
      ]);
      expect(the(events, 'ReferRejected').data).toMatchObject({
        status: refusal.status,
        reason: refusal.reason,
      });
    });
  }

  it('from the carrier side: 403, then the carrier hangs up and the pivot BYEs the PBX', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'refer' });
    await far.ready;
    const agent = pbx(pivot.address, { flow: 'hung_up' });
    await allPassed(agent, far);

    const events = await pivot.events();
    expect(the(events, 'ReferReceived').data.leg).toBe('far');
    expect(the(events, 'ReferRejected').data).toMatchObject({
      status: 403,
      reason: 'REFER from the carrier side',
    });
    expect(events.map((e) => e.type).slice(-2)).toEqual(['HangupReceived', 'CallEnded']);
  });

  it('outside any dialog (unknown Call-ID): 481, nothing stored', async () => {
    pivot = await startTestPivot({ carrierPort: await freePort() });
    const agent = runSipp({ scenario: 'e2e-refer-no-dialog.xml', remote: pivot.address });
    await allPassed(agent);
    expect(await pivot.events()).toEqual([]);
  });
});
