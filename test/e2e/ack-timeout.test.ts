/**
 * The ACK timeout over the wire: a PBX that takes the pivot's 200 and never ACKs it is BYEd, and so is
 * the carrier, once `sip.ackTimeoutSeconds` (set short here) has passed (RFC 3261 §13.3.1.4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runSipp } from '../helpers/sipp.ts';
import { allPassed, carrier } from './parties.ts';
import { type PivotUnderTest, startTestPivot, the } from './pivot.ts';

let pivot: PivotUnderTest | undefined;
afterEach(async () => {
  await pivot?.dispose();
  pivot = undefined;
});

describe('ACK timeout', () => {
  it('a PBX that never ACKs our 200 is BYEd with the carrier, and the call ends failed', async () => {
    const carrierPort = await freePort();
    pivot = await startTestPivot({ carrierPort, ackTimeoutSeconds: 2 });
    const far = carrier({ port: carrierPort, flow: 'hung_up' });
    await far.ready;
    const customer = runSipp({ scenario: 'e2e-pbx-no-ack.xml', remote: pivot.address, timeoutMs: 30_000 });
    await allPassed(far, customer);

    const events = await pivot.allEvents();
    const types = events.map((e) => e.type);
    expect(types).not.toContain('CallAcked');
    expect(types).toContain('CallAnswered');
    const fired = events.filter((e) => e.type === 'TimerFired').map((e) => (e.data as { name: string }).name);
    expect(fired).toEqual(['ack-timeout']);
    expect(the(events, 'CallEnded').data).toMatchObject({
      status: 'failed',
      why: expect.stringContaining('no ACK on the customer leg within 2 s'),
    });
  });
});
