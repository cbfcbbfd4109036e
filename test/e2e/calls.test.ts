/**
 * Calls without a transfer, over the wire: an origination call from the carrier to a trunk number is
 * relayed to the PBX and back, and a malformed request to the running pivot gets 400 without stopping
 * it from serving the next call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '../helpers/sipp.ts';
import { allPassed, carrier, carrierCall, pbx, pbxAnswer, received } from './parties.ts';
import { type PivotUnderTest, startTestPivot, the } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('an origination call (carrier -> pivot -> PBX originationUri)', () => {
  for (const [who, carrierEnd, pbxEnd] of [
    ['the PBX', 'hung_up', 'hangs_up'],
    ['the carrier', 'hangs_up', 'hung_up'],
  ] as const) {
    it(`is relayed both ways: INVITE, 180, 200 with SDP, ACK; ${who} hangs up`, async () => {
      const pbxPort = await freePort();
      pivot = await startTestPivot({ carrierPort: await freePort(), pbxPort });
      const customer = pbxAnswer({ port: pbxPort, end: pbxEnd });
      await customer.ready;
      const far = carrierCall(pivot.address, { end: carrierEnd });
      const [pbxResult] = await allPassed(customer, far);
      expect(received(pbxResult!).map((line) => line.split(' ')[0])).toEqual(
        pbxEnd === 'hung_up' ? ['INVITE', 'ACK', 'BYE'] : ['INVITE', 'ACK', 'SIP/2.0'],
      );

      const events = await pivot.events();
      expect(events.map((e) => e.type)).toEqual([
        'CallReceived',
        'CallProgress',
        'CallAnswered',
        'CallAcked',
        'HangupReceived',
        'CallEnded',
      ]);
      expect(the(events, 'CallReceived').data).toMatchObject({
        direction: 'trunking-originating',
        from: '+15550300000',
        to: '+15550100000',
        outboundUri: `sip:+15550100000@127.0.0.1:${pbxPort}`,
      });
      expect(the(events, 'HangupReceived').data.leg).toBe(pbxEnd === 'hangs_up' ? 'customer' : 'far');
      expect(the(events, 'CallEnded').data.status).toBe('completed');
    });
  }
});

describe('a malformed request to the running pivot', () => {
  it('gets 400, and the pivot goes on serving: OPTIONS 200, then a whole call', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    await allPassed(runSipp({ scenario: 'e2e-malformed.xml', remote: pivot.address }));

    const far = carrier({ port: carrierPort, flow: 'hung_up' });
    await far.ready;
    await allPassed(pbx(pivot.address, { flow: 'hang_up', byeDelayMs: 100 }), far);
    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallProgress',
      'CallAnswered',
      'CallAcked',
      'HangupReceived',
      'CallEnded',
    ]);
  });
});
