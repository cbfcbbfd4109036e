/**
 * Deployments that trip B2BUAs up: a PBX behind NAT on TCP that can only be reached on the connection
 * it opened, and a carrier whose calls arrive from a gateway other than the one the pivot sends to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allPassed, carrier, carrierCall, pbxAnswer } from '../e2e/parties.ts';
import { type PivotUnderTest, startTestPivot } from '../e2e/pivot.ts';
import { freePort, runSipp } from '../helpers/sipp.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('a PBX behind NAT on TCP', () => {
  it('gets the BYE on the connection it opened, not at its private Contact', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort });
    const far = carrier({ port: carrierPort, flow: 'hangs_up' });
    await far.ready;
    const pbx = runSipp({
      scenario: 'vendors/pbx-behind-nat-tcp.xml',
      remote: pivot.address,
      transport: 'tcp',
    });
    await allPassed(pbx, far);
    const events = await pivot.events();
    expect(events.map((e) => e.type)).toEqual([
      'CallReceived',
      'CallProgress',
      'CallAnswered',
      'CallAcked',
      'HangupReceived',
      'CallEnded',
    ]);
    expect(events[0]!.data.inbound.flow).toMatchObject({ transport: 'tcp', host: '127.0.0.1' });
  });
});

describe('a carrier sending from a second gateway', () => {
  it('an origination call from an address in carrier.sources reaches the PBX', async () => {
    const pbxPort = await freePort();
    pivot = await startTestPivot({
      carrierPort: await freePort(),
      pbxPort,
      carrierSources: ['127.0.0.6/32'],
    });
    const customer = pbxAnswer({ port: pbxPort, end: 'hung_up', carrierHost: '127.0.0.6' });
    await customer.ready;
    await allPassed(customer, carrierCall(pivot.address, { end: 'hangs_up', localIp: '127.0.0.6' }));
    const events = await pivot.events();
    expect(events[0]).toMatchObject({
      type: 'CallReceived',
      data: { direction: 'trunking-originating', to: '+15550100000' },
    });
  });

  it('the same call from an address outside carrier.sources is no origination: 404, no trunk has that domain', async () => {
    const pivotNoSources = await startTestPivot({ carrierPort: await freePort() });
    pivot = pivotNoSources;
    const call = carrierCall(pivot.address, { end: 'hangs_up', localIp: '127.0.0.6' });
    const result = await call.done;
    expect(result.messages).toMatch(/^SIP\/2\.0 404 Not Found/m);
    expect(await pivot.events()).toEqual([]);
  });
});
